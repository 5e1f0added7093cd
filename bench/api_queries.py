"""Print the database commands the API's listings cost with 10 and with 500 items.

Starts an in-memory SecantusDB (mongomock sends no command events), then runs
`tests/test_api_queries.py` against it, which prints the counts per listing:

    python bench/api_queries.py
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"SecantusDB did not listen on port {port}")


def main() -> int:
    port = free_port()
    server = subprocess.Popen(
        ["secantusd-py", "--host", "127.0.0.1", "--port", str(port), "--storage-path", ":memory:"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(port)
        # tests/conftest.py takes a URL in OGP_TEST_DB as a server someone else runs.
        os.environ["OGP_TEST_DB"] = f"mongodb://127.0.0.1:{port}/udata-ogp-bench"
        os.chdir(ROOT)
        sys.path.insert(0, str(ROOT))
        return pytest.main(
            ["-q", "-s", "-p", "no:cacheprovider", "tests/test_api_queries.py", "-k", "QueryCount"]
        )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
