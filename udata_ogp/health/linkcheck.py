"""The link-check job in-process: tag links, link health and the commitment roll-up.

Above `sweep` (health) and `tagging` (tag links), which know nothing of each other. A full run
on a portal whose links cover a large share of the datasets and reuses reads each collection
once: the targets whole (`sweep.preload_dense`, tags included) and the links in one pass that
evaluates them and keeps the few the tag sync needs. Otherwise (one commitment, or a sparse
portal) the tag sync makes its own indexed queries first.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from udata_ogp.health.sweep import (
    SweepResult,
    check_links,
    preload_dense,
    record_run,
    rollup,
    utcnow,
)
from udata_ogp.health.tagging import concerns_tags, sync_tags, tagged_in

__all__ = ("run_sweep",)

log = logging.getLogger(__name__)


def _full_run(now: datetime, tags: bool, extra_fields=None) -> SweepResult:
    preloaded = preload_dense(extra_fields)
    result = _checked(now, tags, preloaded)
    result.preloaded = preloaded
    return result


def _checked(now: datetime, tags: bool, preloaded: dict) -> SweepResult:
    if not tags:
        return check_links(now=now, preloaded=preloaded)
    tagged = tagged_in(preloaded)
    if tagged is None:
        # Not every taggable class was read whole: tags first (their own queries), so that
        # the links they create are checked by the sweep below.
        report = sync_tags(preloaded=preloaded).as_dict()
        result = check_links(now=now, preloaded=preloaded)
        result.tags = report
        return result

    result = check_links(
        now=now, preloaded=preloaded, keep=lambda link: concerns_tags(link, tagged)
    )
    tag_result = sync_tags(preloaded=preloaded, links=result.kept)
    if tag_result.created_ids:
        result.merge(check_links(ids=tag_result.created_ids, now=now, rollup_commitments=False))
    if tag_result.commitments:
        # The roll-up above counted the links as they were before the tag sync.
        result.commitments_written += rollup(tag_result.commitments)
    result.tags = tag_result.as_dict()
    result.kept = []
    return result


def run_sweep(
    commitment=None,
    now: datetime | None = None,
    tags: bool = True,
    extra_fields: Mapping[str, Mapping[str, int]] | None = None,
) -> SweepResult:
    """The whole job: tag links (full runs only), link health, roll-up, run record.

    A full run leaves the target collections it read whole in `result.preloaded`, with
    `extra_fields` besides its own (see `sweep.preload_dense`), for the delivery sweep.
    """
    now = now or utcnow()
    if commitment is None:
        result = _full_run(now, tags, extra_fields)
    else:
        result = check_links(commitment=commitment, now=now)
    scope = "all" if commitment is None else f"commitment:{getattr(commitment, 'pk', commitment)}"
    summary: dict[str, Any] = result.as_dict()
    record_run(scope, now, summary)
    log.info("OGP link sweep (%s): %s", scope, summary)
    return result
