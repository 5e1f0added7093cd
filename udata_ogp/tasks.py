"""Celery jobs of the plugin (entry point `udata.tasks`): must not touch the database at import.

- `ogp-check-links`: the link-health sweep (tag links, health, commitment roll-up), in-process,
  or fanned out into `check_links_chunk` sub-tasks of `OGP_SWEEP_FANOUT` links when set and the
  portal has more links than that;
- `ogp-check-deliverables`: the delivery sweep (`udata_ogp.delivery.sweep`) and the review
  queue's proposals (`udata_ogp.delivery.proposing`); the
  link job runs it too, after the links, over the same scope;
- `reevaluate_target`: the links and deliverables of one dataset/reuse/dataservice, queued by
  `signals`;
- `ogp-send-notices`: the opt-in e-mail digests (`udata_ogp.notices`);
- `ogp-probe-urls`: the optional URL probe (`udata_ogp.probe`), for portals without udata-hydra.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from udata.tasks import get_logger, job, task

log = get_logger(__name__)


@job("ogp-check-links")
def check_links(self, commitment: str | None = None) -> dict[str, Any]:
    """Check every link (or one commitment's); returns the sweep summary."""
    from udata_ogp.health import sweep

    fanout = int(current_app.config.get("OGP_SWEEP_FANOUT") or 0)
    if commitment is None and fanout:
        ids = sweep.link_ids()
        if len(ids) > fanout:
            from udata_ogp.health.tagging import sync_tags

            tags = sync_tags().as_dict()
            chunks = [ids[i : i + fanout] for i in range(0, len(ids), fanout)]
            for chunk in chunks:
                check_links_chunk.delay([str(i) for i in chunk])
            summary = {"links": len(ids), "chunks": len(chunks), "tags": tags}
            # Deliverables read the portal's objects, not the links' health: no need to wait.
            summary["deliveries"] = _check_deliverables()
            sweep.record_run("all", sweep.utcnow(), summary)
            self.log.info("OGP link sweep fanned out: %s", summary)
            return summary
    from udata_ogp.delivery.sweep import run_with_links

    result, deliveries = run_with_links(commitment=commitment)
    summary = result.as_dict()
    summary["deliveries"] = _check_deliverables(commitment, deliveries)
    return summary


def _check_deliverables(commitment: str | None = None, done=None) -> dict[str, Any]:
    """The delivery sweep (unless `done`), then the review queue's proposals for what is
    still missing."""
    from udata_ogp.delivery import sweep as delivery
    from udata_ogp.delivery.proposing import propose

    summary = (done or delivery.run(commitment=commitment)).as_dict()
    summary["proposals"] = propose(commitment=commitment).as_dict()
    return summary


@job("ogp-check-deliverables")
def check_deliverables(self, commitment: str | None = None) -> dict[str, Any]:
    """Evaluate every deliverable (or one commitment's); returns the sweep summary."""
    return _check_deliverables(commitment)


@task(queue="low")
def check_links_chunk(ids: list[str]) -> dict[str, Any]:
    """One fan-out chunk: evaluate these links and roll up the commitments they belong to."""
    from udata_ogp.health import sweep

    return sweep.check_links(ids=ids).as_dict()


# No `queue=`: udata's router would then use the routing key "default.<name>", which the
# "default" queue (bound to "task.#") drops; without it Celery's defaults route to "default".
@task
def reevaluate_target(class_name: str, target_id: str) -> dict[str, Any]:
    """Re-evaluate the links of one target now (after its update or deletion)."""
    from udata_ogp.delivery import sweep as delivery
    from udata_ogp.health import sweep
    from udata_ogp.health.tagging import sync_tags

    tags = sync_tags(target=(class_name, target_id)).as_dict()
    result = sweep.check_links(target=(class_name, target_id))
    result.tags = tags
    summary = result.as_dict()
    summary["deliveries"] = delivery.check_target(class_name, target_id).as_dict()
    return summary


@job("ogp-send-notices")
def send_notices(self) -> dict[str, Any]:
    """Send the opt-in digests of health changes since the last one."""
    from udata_ogp.health.notices import send_digests

    return send_digests()


@job("ogp-probe-urls")
def probe_urls(self) -> dict[str, Any]:
    """Probe the resources of linked datasets (only when OGP_URL_PROBE is on)."""
    if not current_app.config.get("OGP_URL_PROBE"):
        self.log.info("OGP_URL_PROBE is off: nothing probed")
        return {"probed": 0}
    from udata_ogp.health.probe import probe_linked_resources

    return probe_linked_resources()


# Default schedules: the sweep nightly (the grace period counts in days), digests each morning.
SCHEDULES: dict[str, str] = {
    "ogp-check-links": "15 2 * * *",
    "ogp-send-notices": "0 7 * * *",
    "ogp-probe-urls": "30 1 * * *",
}


def schedule_jobs(crons: dict[str, str] | None = None) -> list[tuple[str, str, str]]:
    """Register the plugin's jobs with udata's scheduler; idempotent.

    Returns `(job, cron, "created" | "updated" | "unchanged")` per job. The URL probe is only
    scheduled when `OGP_URL_PROBE` is on.
    """
    from udata.core.jobs.models import PeriodicTask

    wanted = {**SCHEDULES, **(crons or {})}
    if not current_app.config.get("OGP_URL_PROBE"):
        wanted.pop("ogp-probe-urls", None)
    done = []
    for name, cron in wanted.items():
        crontab = PeriodicTask.Crontab.parse(cron)
        existing = PeriodicTask.objects(task=name, args=[], kwargs={}).first()
        if existing is None:
            PeriodicTask.objects.create(
                task=name,
                name=f"Job {name}",
                description=f"Periodic {name} job (udata-ogp)",
                enabled=True,
                args=[],
                kwargs={},
                crontab=crontab,
            )
            done.append((name, cron, "created"))
        elif str(existing.crontab) != str(crontab) or not existing.enabled:
            existing.modify(crontab=crontab, enabled=True)
            done.append((name, cron, "updated"))
        else:
            done.append((name, cron, "unchanged"))
    return done
