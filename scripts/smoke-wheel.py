"""Smoke test of a built wheel, installed as a portal would install it (called by .ci/run).

    python scripts/smoke-wheel.py DIST/udata_ogp-X-py3-none-any.whl [--checkout DIR]

Makes a fresh virtualenv in a temporary directory, installs the wheel there with its dependencies
(udata included), and from that directory (not the checkout) checks that:
- the plugin is imported from the virtualenv, with its compiled catalogues and DSFR;
- `udata ogp migrate` runs (on an embedded database configured in a `udata.cfg`), and the Celery
  worker's app (`udata.worker`, as `celery -A udata.worker` loads it) registers the plugin's jobs;
- `udata ogp demo --port <free port>` serves /ogp/ in French with the French UI strings of the
  compiled catalogue and in English, every stylesheet the page links and every font and icon
  DSFR's stylesheet loads (200), and the API (21 commitments);
- with `--checkout`, the stylesheets served are byte for byte the checkout's.
Stops what it started and removes the directory. Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import venv
from pathlib import Path

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
# A string of the index page, and its French translation from the catalogue.
ENGLISH_TITLE = "Open government action plans"
FRENCH_TITLE = "Plans d’action pour un gouvernement ouvert"
JOBS = {"ogp-check-links", "ogp-send-notices", "ogp-probe-urls"}
COMMITMENTS = 21
READY_WITHIN = 120  # seconds: the demo imports the plan and sweeps once before it serves

UDATA_CFG = """\
import mongomock
SECRET_KEY = "smoke-test"
API_TOKEN_SECRET = "smoke-test"
MONGODB_HOST = "mongodb://localhost:27017/udata-ogp-smoke"
MONGODB_SETTINGS = {"host": MONGODB_HOST, "mongo_client_class": mongomock.MongoClient}
"""

CHECK_INSTALL = """\
import importlib.metadata, json, pathlib, sys
import udata_ogp
package = pathlib.Path(udata_ogp.__file__).parent
print(json.dumps({
    "file": str(package),
    "prefix": sys.prefix,
    "version": udata_ogp.__version__,
    "metadata_version": importlib.metadata.version("udata-ogp"),
    "catalogues": sorted(
        str(p.relative_to(package)) for p in package.glob("translations/*/LC_MESSAGES/*.mo")
    ),
    "dsfr": (package / "static/dsfr/dsfr.min.css").is_file(),
    "dsfr_licence": (package / "static/dsfr/LICENSE.md").is_file(),
}))
"""

CHECK_WORKER = """\
import udata.worker
from udata.tasks import celery
print(" ".join(sorted(name for name in celery.tasks if name.startswith("ogp-"))))
"""


class SmokeError(Exception):
    pass


STARTED = time.monotonic()


def step(message: str) -> None:
    print(f"-- {time.monotonic() - STARTED:4.0f} s  {message}", flush=True)


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SmokeError(
            f"{' '.join(map(str, args))} exited {done.returncode}:\n{done.stdout}{done.stderr}"
        )
    return done.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, accept: str = BROWSER_ACCEPT) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read()


def stylesheets(html: str) -> list[str]:
    return re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)


def check_page(base: str, lang: str, present: str, absent: str) -> str:
    status, ctype, body = get(f"{base}/ogp/?lang={lang}")
    html = body.decode()
    if status != 200 or "text/html" not in ctype:
        raise SmokeError(f"/ogp/?lang={lang}: {status} {ctype}")
    if f'<html lang="{lang}"' not in html or present not in html or absent in html:
        raise SmokeError(f"/ogp/?lang={lang}: expected {present!r}, not {absent!r}")
    return html


def check_stylesheets(base: str, html: str, checkout: Path | None) -> int:
    """Every stylesheet the page links, and every file DSFR's stylesheet loads, served (200)."""
    links = stylesheets(html)
    expected = ["/ogp/static/dsfr/dsfr.min.css", "/ogp/static/ogp.css"]
    if [link.split("?")[0] for link in links] != expected:
        raise SmokeError(f"stylesheets linked by /ogp/: {links}, expected {expected}")
    served = 0
    for link in links:
        status, ctype, body = get(base + link, accept="text/css,*/*;q=0.1")
        if status != 200 or "text/css" not in ctype:
            raise SmokeError(f"{link}: {status} {ctype}")
        served += 1
        if checkout is not None:
            path = link.split("?")[0].removeprefix("/ogp/static/")
            mine = checkout / "udata_ogp" / "static" / path
            if (
                not mine.is_file()
                or hashlib.sha256(mine.read_bytes()).digest() != hashlib.sha256(body).digest()
            ):
                raise SmokeError(f"{link}: the wheel serves other bytes than {mine}")
        if link.endswith("dsfr.min.css"):
            folder = link.rsplit("/", 1)[0]
            for ref in sorted(set(re.findall(r"url\((?:fonts|icons)/[^)]+\)", body.decode()))):
                url = f"{folder}/{ref[4:-1]}"
                status, _, _ = get(base + url, accept="*/*")
                if status != 200:
                    raise SmokeError(f"{url} (loaded by dsfr.min.css): {status}")
                served += 1
    return served


def smoke(wheel: Path, checkout: Path | None, work: Path) -> None:
    env_dir = work / "venv"
    here = work / "portal"
    here.mkdir()
    step(f"fresh virtualenv in {env_dir}")
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python, udata = env_dir / "bin" / "python", env_dir / "bin" / "udata"
    run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel, cwd=here)
    step(f"installed {wheel.name} and its dependencies")

    info = json.loads(run(python, "-c", CHECK_INSTALL, cwd=here))
    if not info["file"].startswith(info["prefix"]):
        raise SmokeError(f"udata_ogp imported from {info['file']}, not from the virtualenv")
    if info["version"] != info["metadata_version"]:
        raise SmokeError(f"version {info['version']} but metadata says {info['metadata_version']}")
    catalogues = {
        "translations/en/LC_MESSAGES/udata_ogp.mo",
        "translations/fr/LC_MESSAGES/udata_ogp.mo",
    }
    if not catalogues <= set(info["catalogues"]) or not info["dsfr"] or not info["dsfr_licence"]:
        raise SmokeError(f"the installed package lacks catalogues or DSFR: {info}")
    count = len(info["catalogues"])
    step(f"udata-ogp {info['version']} from the virtualenv, {count} catalogues, DSFR")

    (here / "udata.cfg").write_text(UDATA_CFG)
    env = {**os.environ, "UDATA_SETTINGS": str(here / "udata.cfg")}
    out = run(udata, "ogp", "migrate", "--dry-run", cwd=here, env=env)
    if "would apply" not in out or "nothing written" not in out:
        raise SmokeError(f"udata ogp migrate --dry-run:\n{out}")
    jobs = set(run(python, "-c", CHECK_WORKER, cwd=here, env=env).split())
    if not JOBS <= jobs:
        raise SmokeError(f"Celery jobs registered by udata.worker: {sorted(jobs)}, expected {JOBS}")
    step(f"udata ogp migrate --dry-run runs; udata.worker registers {' '.join(sorted(jobs))}")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = work / "demo.log"
    with log_path.open("w") as log:
        # Its own session, so that the whole group can be stopped.
        demo = subprocess.Popen(
            [str(udata), "ogp", "demo", "--port", str(port)],
            cwd=here,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + READY_WITHIN
        while True:
            try:
                if get(f"{base}/ogp/")[0] == 200:
                    break
            except OSError:
                pass
            if demo.poll() is not None or time.monotonic() > deadline:
                raise SmokeError(
                    f"the demo did not serve {base}/ogp/:\n{log_path.read_text()[-4000:]}"
                )
            time.sleep(0.5)
        step(f"udata ogp demo serves {base}/ogp/")

        html = check_page(base, "fr", FRENCH_TITLE, ENGLISH_TITLE)
        check_page(base, "en", ENGLISH_TITLE, FRENCH_TITLE)
        step("/ogp/?lang=fr in French (compiled catalogue), /ogp/?lang=en in English")
        served = check_stylesheets(base, html, checkout)
        same = ", the checkout's bytes" if checkout else ""
        step(f"stylesheets and the fonts and icons they load: {served} files served (200){same}")

        status, _, body = get(
            f"{base}/api/1/ogp/commitments/?page_size=1", accept="application/json"
        )
        total = json.loads(body).get("total") if status == 200 else None
        if total != COMMITMENTS:
            raise SmokeError(
                f"/api/1/ogp/commitments/: {status}, total {total}, expected {COMMITMENTS}"
            )
        step(f"/api/1/ogp/commitments/ lists {total} commitments")
    finally:
        os.killpg(demo.pid, signal.SIGTERM)
        try:
            demo.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheel", type=Path)
    parser.add_argument("--checkout", type=Path, help="compare the stylesheets with this checkout")
    args = parser.parse_args()
    wheel = args.wheel.resolve()
    checkout = args.checkout.resolve() if args.checkout else None
    # A CI run stopped by SIGTERM still stops the demo and removes the directory (finally).
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    work = Path(tempfile.mkdtemp(prefix="udata-ogp-smoke-"))
    if checkout is not None and work.is_relative_to(checkout):
        raise SystemExit("the smoke test must run outside the checkout")
    try:
        smoke(wheel, checkout, work)
    except SmokeError as exc:
        print(f"wheel smoke test FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"wheel smoke test passed in {time.monotonic() - STARTED:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
