"""The plugin's own URL probe of linked datasets' resources, for portals without udata-hydra.

Off by default (`OGP_URL_PROBE`). HEAD, then GET when HEAD fails or is refused (many servers
answer 405 or 403 to HEAD); `OGP_URL_PROBE_TIMEOUT` seconds per request; at most
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
import threading
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import current_app
from udata.http import ssrf_policy
from udata.ssrf import BlockedAddressError, SSRFPolicy, SSRFProtectedSession

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


def _check(session: requests.Session, url: str, timeout: float) -> ProbeResult:
    try:
        response = session.head(url, timeout=timeout, allow_redirects=True)
        status = response.status_code
        if status < 400:
            return ProbeResult(url, True, status)
    except BlockedAddressError as exc:
        return ProbeResult(url, None, None, f"refused: {exc}")
    except requests.RequestException:
        status = None
    if status is None or status in HEAD_FALLBACK or status >= 500:
        try:
            with session.get(url, timeout=timeout, allow_redirects=True, stream=True) as response:
                status = response.status_code
        except BlockedAddressError as exc:
            return ProbeResult(url, None, None, f"refused: {exc}")
        except requests.Timeout:
            return ProbeResult(url, False, None, "timeout")
        except requests.RequestException as exc:
            return ProbeResult(url, False, None, type(exc).__name__)
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
    local = threading.local()

    def run(url: str) -> ProbeResult:
        if not url.startswith(("http://", "https://")):
            return ProbeResult(url, None, None, "refused: not an http(s) URL")
        session = getattr(local, "session", None)
        if session is None:
            # One session per thread: requests' Session is not guaranteed thread-safe.
            session = local.session = SSRFProtectedSession(policy)
        with hosts[(urlsplit(url).hostname or "").lower()]:
            return _check(session, url, timeout)

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
