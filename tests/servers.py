"""Helpers to start local servers for tests and benches: free ports, SecantusDB, Redis, the app."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from werkzeug.serving import make_server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, timeout: float = 30.0, name: str = "SecantusDB") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{name} did not listen on 127.0.0.1:{port} within {timeout}s")


def installed_script(name: str) -> str | None:
    """A console script of this virtualenv, found even when the venv is not activated."""
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else shutil.which(name)


def start_secantus(
    db: str = "udata-ogp-test", standalone: bool = False
) -> tuple[subprocess.Popen, str]:
    """A SecantusDB in memory on a free port: `(process, mongodb URL)`.

    By default it answers as a single-node replica set and keeps an oplog (change streams);
    `standalone` drops both, like a standalone mongod.
    """
    binary = installed_script("secantusd-py")
    if not binary:
        raise RuntimeError("SecantusDB is not installed: `pip install secantusdb`")
    port = _free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--storage-path",
            ":memory:",
            "--log-level",
            "WARNING",
            *(["--standalone"] if standalone else []),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port)
    except RuntimeError:
        stop(proc)
        raise
    return proc, f"mongodb://127.0.0.1:{port}/{db}"


def start_redis() -> tuple[subprocess.Popen, str]:
    """A throw-away redis-server on a free port: `(process, redis URL)`."""
    binary = shutil.which("redis-server")
    if not binary:
        raise RuntimeError(
            "redis-server is not installed: `apt-get install -y redis-server` (the CI script "
            "installs Debian's package); this test needs a real broker and does not skip"
        )
    port = _free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, name="redis-server")
    except RuntimeError:
        stop(proc)
        raise
    return proc, f"redis://127.0.0.1:{port}"


def stop(proc: subprocess.Popen | None, timeout: float = 10) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


@contextmanager
def serve_app(app) -> Iterator[str]:
    """The app on a real HTTP server in a thread of this process: yields its base URL.

    In this process because the embedded database lives here. Testing settings name a fake host
    (`local.test`); clients reach the real one, so `SERVER_NAME` follows the port.
    """
    server = make_server("127.0.0.1", 0, app, threaded=True)
    port = server.server_port
    app.config["SERVER_NAME"] = f"127.0.0.1:{port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
