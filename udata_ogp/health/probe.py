"""The plugin's own URL probe of linked datasets' resources, for portals without udata-hydra.

Off by default (`OGP_URL_PROBE`). HEAD, then GET when HEAD fails or is refused (many servers
answer 405 or 403 to HEAD); `OGP_URL_PROBE_TIMEOUT` seconds for each URL, a deadline for the
whole check (connections, headers, redirects, HEAD and GET together): a server that trickles its
answer a byte at a time is cut off when it passes, since a socket timeout alone only bounds each
read; at most
`OGP_URL_PROBE_CONCURRENCY` requests at once and `OGP_URL_PROBE_PER_HOST` per host, so a portal
with thousands of resources on one server does not hammer it. Every request goes through udata's
SSRF guard (`udata.http.ssrf_policy` / `udata.ssrf.SSRFProtectedSession`): private, loopback and
link-local addresses are refused at connect time, redirects included; a refused URL is recorded
as "not checkable" (availability unknown), never as a broken resource.

Results are kept in the plugin's collection `ogp_resource_check` with the same keys hydra writes
(`check:available`, `check:status`, `check:date` = date of the last change, `check:error`), and
the sweep reads them where hydra wrote nothing. The dataset itself is never saved (that would
reindex it and fire udata's receivers).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import current_app
from udata.http import ssrf_policy
from udata.ssrf import (
    BlockedAddressError,
    GuardedHTTPAdapter,
    GuardedHTTPConnection,
    GuardedHTTPSConnection,
    GuardedPoolManager,
    SSRFPolicy,
    SSRFProtectedSession,
)

__all__ = ("ProbeResult", "facts_for", "probe_linked_resources", "probe_urls")

log = logging.getLogger(__name__)

COLLECTION = "ogp_resource_check"
# Statuses after which a GET is worth trying: HEAD not allowed or not implemented, or refused.
HEAD_FALLBACK = frozenset({403, 404, 405, 501})


@dataclass(frozen=True)
class ProbeResult:
    url: str
    available: bool | None
    status: int | None = None
    error: str | None = None


class Deadline:
    """The end of one URL's check: every socket the check opens is shut down when it passes.

    Shutting a socket down from the timer's thread wakes the read blocked on it, so the check
    returns at the deadline and its concurrency slots are freed then, not when the server stops.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()

    def remaining(self) -> float:
        return max(0.001, self.ends - time.monotonic())

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if not self.expired:
                return
        self._shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed


class _WatchedConnection:
    """udata's guarded connection whose new sockets are handed to the check's deadline."""

    def __init__(self, *args, deadline: Deadline, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.deadline = deadline

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        self.deadline.watch(sock)
        return sock


class _WatchedHTTPConnection(_WatchedConnection, GuardedHTTPConnection):
    pass


class _WatchedHTTPSConnection(_WatchedConnection, GuardedHTTPSConnection):
    pass


class _WatchedPoolManager(GuardedPoolManager):
    def __init__(self, policy: SSRFPolicy, deadline: Deadline, **kwargs) -> None:
        super().__init__(policy, **kwargs)
        self.deadline = deadline

    def _new_pool(self, scheme, host, port, request_context=None):
        pool = super()._new_pool(scheme, host, port, request_context)
        cls = _WatchedHTTPSConnection if scheme == "https" else _WatchedHTTPConnection
        pool.ConnectionCls = partial(cls, policy=self.policy, deadline=self.deadline)
        return pool


class _WatchedAdapter(GuardedHTTPAdapter):
    def __init__(self, policy: SSRFPolicy, deadline: Deadline, **kwargs) -> None:
        self.deadline = deadline  # before HTTPAdapter.__init__ builds the pool manager
        super().__init__(policy, **kwargs)

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        self.poolmanager = _WatchedPoolManager(
            self.policy,
            self.deadline,
            num_pools=connections,
            maxsize=maxsize,
            block=block,
            **pool_kwargs,
        )


class DeadlineSession(SSRFProtectedSession):
    """udata's SSRF-guarded session, for one check: its sockets obey `deadline`."""

    def __init__(self, policy: SSRFPolicy, deadline: Deadline) -> None:
        super().__init__(policy)
        adapter = _WatchedAdapter(policy=self.policy, deadline=deadline)
        self.mount("http://", adapter)
        self.mount("https://", adapter)


def _check(url: str, timeout: float, policy: SSRFPolicy) -> ProbeResult:
    """HEAD, then GET when needed, all within one deadline of `timeout` seconds."""
    with Deadline(timeout) as deadline, DeadlineSession(policy, deadline) as session:
        return _head_then_get(session, url, deadline)


def _head_then_get(session: requests.Session, url: str, deadline: Deadline) -> ProbeResult:
    timeout = ProbeResult(url, False, None, "timeout")
    try:
        response = session.head(url, timeout=deadline.remaining(), allow_redirects=True)
        status = response.status_code
    except BlockedAddressError as exc:
        return ProbeResult(url, None, None, f"refused: {exc}")
    except requests.RequestException:
        status = None
    # Checked before the status: a socket shut down by the deadline ends the headers early,
    # and http.client then reads a half-sent answer as a complete one.
    if deadline.expired:
        return timeout
    if status is not None and status < 400:
        return ProbeResult(url, True, status)
    if status is None or status in HEAD_FALLBACK or status >= 500:
        try:
            with session.get(
                url, timeout=deadline.remaining(), allow_redirects=True, stream=True
            ) as response:
                status = response.status_code
        except BlockedAddressError as exc:
            return ProbeResult(url, None, None, f"refused: {exc}")
        except requests.Timeout:
            return timeout
        except requests.RequestException as exc:
            # A socket shut down by the deadline reads as a dropped connection.
            return (
                timeout if deadline.expired else ProbeResult(url, False, None, type(exc).__name__)
            )
        if deadline.expired:
            return timeout
    if status == 429:  # rate limited: we know nothing (hydra does the same)
        return ProbeResult(url, None, status)
    return ProbeResult(url, status < 400, status)


def probe_urls(
    urls: Iterable[str],
    *,
    timeout: float = 10,
    concurrency: int = 8,
    per_host: int = 2,
    policy: SSRFPolicy | None = None,
) -> dict[str, ProbeResult]:
    """Probe distinct URLs with bounded concurrency overall and per host."""
    urls = list(dict.fromkeys(u for u in urls if u))
    policy = policy or SSRFPolicy()
    hosts: dict[str, threading.Semaphore] = defaultdict(lambda: threading.Semaphore(per_host))
    for url in urls:
        hosts[(urlsplit(url).hostname or "").lower()]  # created here, before any thread

    def run(url: str) -> ProbeResult:
        if not url.startswith(("http://", "https://")):
            return ProbeResult(url, None, None, "refused: not an http(s) URL")
        # The deadline starts once the host's slot is taken: waiting for it is not the URL's
        # fault. One session per check (requests' Session is not guaranteed thread-safe, and
        # a pooled connection of an earlier check would escape this check's deadline).
        with hosts[(urlsplit(url).hostname or "").lower()]:
            return _check(url, timeout, policy)

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        return dict(zip(urls, pool.map(run, urls), strict=True))


def _collection():
    from udata_ogp.models import CommitmentLink

    return CommitmentLink._get_db()[COLLECTION]


def facts_for(resource_ids: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """Stored probe facts by resource id (one query), in hydra's extras vocabulary."""
    ids = [str(rid) for rid in resource_ids if rid is not None]
    if not ids:
        return {}
    facts = {}
    for doc in _collection().find({"_id": {"$in": ids}}):
        fact = {k: v for k, v in doc.items() if k.startswith("check:")}
        if fact.get("check:available") is None:
            fact.pop("check:available", None)
        facts[doc["_id"]] = fact
    return facts


def probe_linked_resources(now: datetime | None = None) -> dict[str, Any]:
    """Probe the resources of every linked dataset; store only results that changed."""
    from udata.models import Dataset

    from udata_ogp.health.storage import bulk_update, raw_collection
    from udata_ogp.models import CommitmentLink

    now = now or datetime.now(UTC).replace(tzinfo=None)
    config = current_app.config
    dataset_ids = CommitmentLink._get_collection().distinct(
        "target_id", {"target_class": "Dataset", "target_id": {"$ne": None}}
    )
    resources: dict[str, tuple[Any, str]] = {}
    batch = int(config.get("OGP_SWEEP_BATCH_SIZE", 1000))
    coll = raw_collection(Dataset)
    for start in range(0, len(dataset_ids), batch):
        ids = dataset_ids[start : start + batch]
        query = {"_id": {"$in": ids}, "deleted": None}
        for doc in coll.find(query, {"resources._id": 1, "resources.url": 1}):
            for resource in doc.get("resources") or []:
                if resource.get("url"):
                    resources[str(resource["_id"])] = (doc["_id"], resource["url"])
    results = probe_urls(
        (url for _, url in resources.values()),
        timeout=float(config.get("OGP_URL_PROBE_TIMEOUT", 10)),
        concurrency=int(config.get("OGP_URL_PROBE_CONCURRENCY", 8)),
        per_host=int(config.get("OGP_URL_PROBE_PER_HOST", 2)),
        policy=ssrf_policy(),
    )
    previous = {doc["_id"]: doc for doc in _collection().find({"_id": {"$in": list(resources)}})}
    updates = []
    for rid, (dataset_id, url) in resources.items():
        result = results[url]
        old = previous.get(rid) or {}
        if (
            old.get("check:available") == result.available
            and old.get("check:status") == result.status
            and old.get("url") == url
            and rid in previous
        ):
            continue
        fields = {
            "dataset": dataset_id,
            "url": url,
            "check:available": result.available,
            "check:status": result.status,
            "check:error": result.error,
            "check:date": now,
        }
        updates.append(({"_id": rid}, {"$set": fields}))
    written = bulk_update(_collection(), updates, upsert=True)
    summary = {
        "probed": len(results),
        "unavailable": sum(1 for r in results.values() if r.available is False),
        "refused": sum(1 for r in results.values() if (r.error or "").startswith("refused")),
        "written": written,
    }
    log.info("OGP URL probe: %s", summary)
    return summary
