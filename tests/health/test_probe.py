"""The optional URL probe: HEAD/GET, timeouts, limits, SSRF refusal; requests-mock only."""

from __future__ import annotations

import select
import socket
import threading
import time
from contextlib import contextmanager

import pytest
import requests
from udata.core.dataset.factories import DatasetFactory, ResourceFactory
from udata.models import Dataset
from udata.ssrf import SSRFPolicy

from tests import OgpDBTestCase
from udata_ogp.factories import CommitmentLinkFactory
from udata_ogp.health import sweep
from udata_ogp.health.probe import ProbeResult, facts_for, probe_linked_resources, probe_urls
from udata_ogp.models import CommitmentLink
from udata_ogp.tasks import probe_urls as probe_job

URL = "https://data.example.org/file.csv"


class ProbeUrlsTest:
    def test_head_ok(self, rmock):
        rmock.head(URL, status_code=200)
        result = probe_urls([URL])[URL]
        assert (result.available, result.status) == (True, 200)
        assert [r.method for r in rmock.request_history] == ["HEAD"]

    def test_get_fallback_when_head_refused(self, rmock):
        rmock.head(URL, status_code=405)
        rmock.get(URL, status_code=200)
        result = probe_urls([URL])[URL]
        assert (result.available, result.status) == (True, 200)
        assert [r.method for r in rmock.request_history] == ["HEAD", "GET"]

    def test_unavailable(self, rmock):
        rmock.head(URL, status_code=404)
        rmock.get(URL, status_code=404)
        assert probe_urls([URL])[URL].available is False

    def test_timeouts(self, rmock):
        rmock.head(URL, exc=requests.exceptions.ConnectTimeout)
        rmock.get(URL, exc=requests.exceptions.ReadTimeout)
        result = probe_urls([URL], timeout=0.5)[URL]
        assert (result.available, result.error) == (False, "timeout")

    def test_rate_limited_is_unknown(self, rmock):
        rmock.head(URL, status_code=429)
        rmock.get(URL, status_code=429)
        assert probe_urls([URL])[URL].available is None

    def test_private_loopback_link_local_refused(self):
        # No mock: udata's guard refuses these at connect time, nothing leaves the machine.
        urls = [
            "http://127.0.0.1:9/data.csv",
            "http://10.1.2.3/data.csv",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]:9/x",
            "file:///etc/passwd",
        ]
        results = probe_urls(urls, timeout=2, policy=SSRFPolicy())
        for url in urls:
            assert results[url].available is None, url
            assert results[url].error.startswith("refused"), url

    def test_bounded_concurrency_per_host(self, mocker):
        # requests-mock serialises calls, so the check itself is replaced by a slow fake.
        lock = threading.Lock()
        running = {"all": 0}
        peak = {"all": 0}

        def slow(url, timeout, policy):
            host = url.split("/")[2]
            with lock:
                for key in (host, "all"):
                    running[key] = running.get(key, 0) + 1
                    peak[key] = max(peak.get(key, 0), running[key])
            time.sleep(0.05)
            with lock:
                for key in (host, "all"):
                    running[key] -= 1
            return ProbeResult(url, True, 200)

        mocker.patch("udata_ogp.health.probe._check", side_effect=slow)
        urls = [f"https://{h}.example.org/{i}" for h in "abcd" for i in range(6)]
        results = probe_urls(urls, concurrency=5, per_host=2)
        assert all(r.available for r in results.values())
        assert all(peak[f"{h}.example.org"] == 2 for h in "abcd")
        assert 2 < peak["all"] <= 5


class TrickleServer:
    """A local HTTP server that answers one byte at a time, never finishing its headers.

    Records each connection's (opened, closed) times, closed being when the client hung up.
    `gives_up_after` bounds a connection (so that a probe without a deadline ends, late).
    """

    def __init__(self, interval: float = 0.05, gives_up_after: float = 8.0) -> None:
        self.interval = interval
        self.gives_up_after = gives_up_after
        self.connections: list[list[float]] = []
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self.listener.settimeout(0.1)
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            record = [time.monotonic(), None]
            with self.lock:
                self.connections.append(record)
            threading.Thread(target=self._trickle, args=(conn, record), daemon=True).start()

    def _trickle(self, conn: socket.socket, record: list) -> None:
        answer = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100_000
        try:
            for byte in answer:
                if time.monotonic() - record[0] > self.gives_up_after or self.stopped.is_set():
                    break
                readable, _, _ = select.select([conn], [], [], self.interval)
                if readable and not conn.recv(65536, socket.MSG_PEEK):
                    break  # the client shut the connection down
                if readable:
                    conn.recv(65536)  # the request
                conn.sendall(bytes([byte]))
        except OSError:
            pass
        finally:
            record[1] = time.monotonic()
            conn.close()

    def peak(self, slack: float = 0.05) -> int:
        """Most connections open at once (a connection counts until `slack` before its close)."""
        with self.lock:
            spans = [(o, (c or time.monotonic()) - slack) for o, c in self.connections]
        return max((sum(1 for o, c in spans if o <= t < c) for t, _ in spans), default=0)

    def url(self, host: str = "127.0.0.1", path: str = "/data.csv") -> str:
        return f"http://{host}:{self.port}{path}"

    def close(self) -> None:
        self.stopped.set()
        self.listener.close()


@contextmanager
def trickling(**kwargs):
    server = TrickleServer(**kwargs)
    try:
        yield server
    finally:
        server.close()


LOCAL = SSRFPolicy(allow_loopback=True)  # the test servers listen on 127.0.0.1


class ProbeDeadlineTest:
    def test_trickling_server_is_cut_off_at_the_deadline(self):
        with trickling() as server:
            start = time.monotonic()
            result = probe_urls([server.url()], timeout=1, policy=LOCAL)[server.url()]
            elapsed = time.monotonic() - start
            assert (result.available, result.error) == (False, "timeout")
            # One deadline for HEAD and GET together, not one per read (that would be 8 s
            # here, when the server gives up); slack for a loaded machine.
            assert elapsed < 2.5, elapsed
            assert len(server.connections) == 1
            time.sleep(0.2)
            assert server.connections[0][1] is not None  # the probe hung up

    def test_deadlines_stay_within_the_limits(self):
        with trickling() as one, trickling() as other:
            urls = [one.url("127.0.0.1", f"/{i}") for i in range(4)]
            urls += [other.url("localhost", f"/{i}") for i in range(4)]
            start = time.monotonic()
            results = probe_urls(urls, timeout=0.5, concurrency=3, per_host=2, policy=LOCAL)
            elapsed = time.monotonic() - start
            assert all(r.error == "timeout" for r in results.values()), results
            # 8 checks of 0.5 s, 3 at a time: 3 waves; without the deadline, 8 s each.
            assert 1.4 < elapsed < 4.5, elapsed
            assert one.peak() <= 2 and other.peak() <= 2
            assert len(one.connections) == len(other.connections) == 4


class ProbeStorageTest(OgpDBTestCase):
    @pytest.fixture(autouse=True)
    def _probe_on(self, app):
        app.config["OGP_URL_PROBE"] = True

    def test_probe_feeds_the_sweep_without_saving_the_dataset(self, rmock):
        dataset = DatasetFactory(resources=[ResourceFactory(url=URL, filetype="remote")])
        link = CommitmentLinkFactory(target=dataset)
        rmock.head(URL, status_code=404)
        rmock.get(URL, status_code=404)
        modified = Dataset.objects.get(id=dataset.id).last_modified

        summary = probe_job.apply().get()
        assert summary == {"probed": 1, "unavailable": 1, "refused": 0, "written": 1}
        rid = str(dataset.resources[0].id)
        assert facts_for([rid])[rid]["check:status"] == 404
        assert Dataset.objects.get(id=dataset.id).last_modified == modified

        sweep.check_links()
        link = CommitmentLink.objects.get(id=link.id)
        assert link.health == "broken"
        assert link.reasons[0] == "resources_unavailable"

        # Nothing changed: nothing written.
        assert probe_linked_resources()["written"] == 0

    def test_hydra_facts_win_over_the_probe(self, rmock):
        dataset = DatasetFactory(
            resources=[ResourceFactory(url=URL, extras={"check:available": True})]
        )
        link = CommitmentLinkFactory(target=dataset)
        rmock.head(URL, status_code=500)
        rmock.get(URL, status_code=500)
        probe_linked_resources()
        sweep.check_links()
        assert CommitmentLink.objects.get(id=link.id).health == "ok"

    def test_off_by_default(self, app):
        app.config["OGP_URL_PROBE"] = False
        assert probe_job.apply().get() == {"probed": 0}
