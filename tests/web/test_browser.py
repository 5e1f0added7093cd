"""Headless Chromium against the running app: the commitment page shows its datasets.

The app is served by werkzeug in a thread of the test process (the embedded database lives in
this process). CI installs Debian's `chromium`; without it this test fails on purpose.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterator

import pytest
from markupsafe import escape
from werkzeug.serving import make_server

from tests import OgpAPITestCase
from tests.web.test_pages import C5_TITLE, DPE, DVF, EXPECTED, GONE, build_france_plan

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("Debian's `chromium` is needed: apt-get install -y chromium chromium-driver")
    return path


class BrowserTest(OgpAPITestCase):
    @pytest.fixture
    def server(self, app) -> Iterator[str]:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        port = server.server_port
        # Testing settings name a fake host; the browser reaches the real one.
        app.config["SERVER_NAME"] = f"127.0.0.1:{port}"
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{port}"
        server.shutdown()
        thread.join(timeout=10)

    def run_chromium(self, tmp_path, *args: str) -> subprocess.CompletedProcess:
        profile = tmp_path / "profile"
        profile.mkdir(exist_ok=True)
        return subprocess.run(
            [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )

    def test_commitment_page_in_chromium(self, server, tmp_path):
        data = build_france_plan()
        url = f"{server}/ogp/commitments/{data['c5'].slug}/"

        dom = self.run_chromium(tmp_path, "--dump-dom", url)
        assert dom.returncode == 0, dom.stderr[-2000:]
        html = dom.stdout
        assert C5_TITLE in html
        for title in (DVF, DPE, EXPECTED):
            assert title in html
        assert str(escape(GONE)) in html or GONE in html
        assert "mise à jour en retard" in html

        shot = tmp_path / "commitment.png"
        result = self.run_chromium(
            tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", "--hide-scrollbars", url
        )
        assert result.returncode == 0, result.stderr[-2000:]
        assert shot.exists()
        data_png = shot.read_bytes()
        assert data_png.startswith(b"\x89PNG")
        assert len(data_png) > 20_000, "a blank page would be a few kilobytes"
        print(f"screenshot: {shot}")
