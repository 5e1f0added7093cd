"""Link health rules: pure functions, no database, no Flask.

The sweep (`udata_ogp.health.sweep`) reads a link's stored health state and a plain dict view of its
target (raw Mongo fields, `None` when the target was hard-deleted), calls `evaluate()` and writes
back only the fields it returns. Everything here is testable with plain dicts.

Reason codes (the first part of each entry of `CommitmentLink.reasons`, before any `:`):

======================  ========  ==================================================
code                    health    when
======================  ========  ==================================================
gone                    gone      target hard-deleted (the link keeps its snapshot)
deleted                 broken    target soft-deleted (`deleted` / `deleted_at`)
archived                stale     target archived (`archived` / `archived_at`); archived by
                                  udata's harvester: `archived:<harvest.archived_reason>`
private                 stale     target private
overdue                 stale     dataset late against its own frequency (udata's rule)
overdue_promised        stale     dataset late against the frequency promised on the link
resources_unavailable   broken    every checked resource is unavailable (else stale)
no_resources            stale     dataset without any resource
======================  ========  ==================================================

Detail entries follow their code, e.g. `resource_unavailable:<resource id>:404`.

Hysteresis, so that one bad check does not flip a link (data.gouv.fr#1312): an `ok` link only
leaves `ok` after `failures_before_flag` consecutive failing evaluations AND `grace_days` since
the first of them. `gone` and `deleted` flip at once: they are facts about the portal, not
flaky network observations, and the page would otherwise point to a 404/410 for days. A link not
yet `ok` (first check, or already flagged) takes the new verdict at once, and a recovery to `ok`
is immediate too (a good observation is never a false alarm of the kind we guard against).

Writes: `evaluate()` returns only the fields that changed. `checked_at` is set only when the
link's health or reasons change (it reads "evaluated to this verdict at"); the time of each
sweep run is recorded by the sweep in its own run record. `failure_count` counts consecutive
failing evaluations until the verdict settles and then stops, so that a sweep over unchanged
targets writes nothing; `first_failure` still tells since when the link fails.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from udata.core.dataset.constants import UpdateFrequency
from udata.utils import to_naive_datetime

from udata_ogp.constants import HEALTH_ORDER

__all__ = (
    "Evaluation",
    "HealthSettings",
    "REASON_HEALTH",
    "diagnose",
    "evaluate",
    "overdue",
    "reason_code",
    "record_verdict",
    "worst",
)

REASON_HEALTH: dict[str, str] = {
    "gone": "gone",
    "deleted": "broken",
    "archived": "stale",
    "private": "stale",
    "overdue": "stale",
    "overdue_promised": "stale",
    "resources_unavailable": "stale",  # raised to broken when no resource is available
    "no_resources": "stale",
}

# Verdicts that skip the grace period (see the module docstring).
IMMEDIATE = frozenset({"gone", "deleted"})

# udata's tolerance in `Dataset.quality["update_fulfilled_in_time"]`: one day late is on time.
OVERDUE_TOLERANCE_DAYS = 1


@dataclass(frozen=True)
class HealthSettings:
    grace_days: float = 2
    failures_before_flag: int = 2

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> HealthSettings:
        return cls(
            grace_days=float(config.get("OGP_HEALTH_GRACE_DAYS", 2)),
            failures_before_flag=int(config.get("OGP_HEALTH_FAILURES_BEFORE_FLAG", 2)),
        )


@dataclass
class Evaluation:
    """What changed on a link: `changes` to `$set`, and `event` to push to its history."""

    health: str
    reasons: list[str]
    changes: dict[str, Any] = field(default_factory=dict)
    event: dict[str, Any] | None = None

    @property
    def changed(self) -> bool:
        return bool(self.changes) or self.event is not None


def reason_code(reason: str) -> str:
    return reason.split(":", 1)[0]


def worst(healths) -> str:
    return max(healths, key=HEALTH_ORDER.index, default="ok")


def _naive(value: Any) -> datetime | None:
    """Mongo returns naive UTC datetimes; extras such as `check:date` may be ISO strings."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return to_naive_datetime(value)
    return None


def _frequency(value: Any) -> UpdateFrequency | None:
    if not value:
        return None
    try:
        return UpdateFrequency(value)
    except ValueError:
        return None


def overdue(frequency: Any, last_update: Any, now: datetime) -> bool:
    """udata's own rule: late when `next_update` is more than one day in the past.

    Mirrors `Dataset.quality["update_fulfilled_in_time"]` (`(next_update - now).days >= -1`) over
    raw fields; frequencies without a delta (punctual, irregular, unknown...) are never late.
    """
    freq = _frequency(frequency)
    last = _naive(last_update)
    if freq is None or freq is UpdateFrequency.UNKNOWN or last is None:
        return False
    next_update = freq.next_update(last)
    if next_update is None:
        return False
    return (next_update - _naive(now)).days < -OVERDUE_TOLERANCE_DAYS


def _resource_reasons(resources: list[Mapping[str, Any]]) -> tuple[list[str], str | None]:
    """Availability from the `check:*` extras udata-hydra (or the plugin's probe) writes."""
    unavailable: list[str] = []
    checked = 0
    for resource in resources:
        extras = resource.get("extras") or {}
        available = extras.get("check:available")
        status = extras.get("check:status")
        if available is None and isinstance(status, int):
            # Only a status was written: read it the way hydra computes `check:available`.
            available = status < 400 if status != 429 else None
        if available is None or available == "unknown":
            continue
        checked += 1
        if available is False:
            rid = resource.get("_id", resource.get("id", "?"))
            detail = f"resource_unavailable:{rid}"
            if status is not None:
                detail += f":{status}"
            since = _naive(extras.get("check:date"))
            if since is not None:
                detail += f":{since.date().isoformat()}"
            unavailable.append(detail)
    if not unavailable:
        return [], None
    health = "broken" if len(unavailable) == checked else "stale"
    return ["resources_unavailable", *unavailable], health


def _archived_reason(target: Mapping[str, Any]) -> str:
    """`archived`, or `archived:not-on-remote` when udata's harvester archived it.

    The harvester archives what its source no longer publishes (`harvest.archived_reason`, the
    field's name since udata 17.11): the producer did not withdraw it, and readers must know.
    """
    harvest = target.get("harvest") or {}
    reason = harvest.get("archived_reason") if isinstance(harvest, Mapping) else None
    return f"archived:{reason}" if reason else "archived"


def diagnose(
    target_class: str,
    target: Mapping[str, Any] | None,
    now: datetime,
    promised_frequency: str | None = None,
) -> tuple[str, list[str]]:
    """Health and reasons of a target as observed now, before any hysteresis.

    `target` is the raw document with the fields of `targets.STATE_FIELDS` plus, for datasets,
    `frequency`, `last_update` and `resources` (with `_id` and `extras`).
    """
    if target is None:
        return "gone", ["gone"]
    # Local import: targets imports the models, and this module must stay importable alone.
    from udata_ogp.targets import state_of

    state = state_of(target_class, target)
    if state["deleted"]:
        return "broken", ["deleted"]
    reasons: list[str] = []
    healths: list[str] = []
    for name in ("archived", "private"):
        if state[name]:
            reasons.append(_archived_reason(target) if name == "archived" else name)
            healths.append(REASON_HEALTH[name])
    if target_class == "Dataset":
        if overdue(target.get("frequency"), target.get("last_update"), now):
            reasons.append("overdue")
            healths.append("stale")
        if promised_frequency and overdue(promised_frequency, target.get("last_update"), now):
            reasons.append("overdue_promised")
            healths.append("stale")
        resources = target.get("resources") or []
        if not resources:
            reasons.append("no_resources")
            healths.append("stale")
        else:
            resource_reasons, resource_health = _resource_reasons(resources)
            if resource_health:
                reasons.extend(resource_reasons)
                healths.append(resource_health)
    return worst(healths), reasons


def evaluate(
    state: Mapping[str, Any],
    target_class: str,
    target: Mapping[str, Any] | None,
    now: datetime,
    settings: HealthSettings,
    diagnosis: tuple[str, list[str]] | None = None,
) -> Evaluation:
    """Apply the rules and the hysteresis to one link.

    `state` holds the link's stored fields (`health`, `reasons`, `health_since`, `first_failure`,
    `last_ok`, `failure_count`, `promised_frequency`); missing keys read as a never-checked link.
    `diagnosis`: `diagnose()`'s answer for this target and promised frequency, when the caller
    already has it (links to one target share it); never mutated here.
    """
    now = _naive(now)
    previous = state.get("health") or "unknown"
    previous_reasons = list(state.get("reasons") or [])
    failure_count = int(state.get("failure_count") or 0)
    first_failure = _naive(state.get("first_failure"))
    if diagnosis is None:
        diagnosis = diagnose(target_class, target, now, state.get("promised_frequency"))
    observed, reasons = diagnosis

    changes: dict[str, Any] = {}
    if observed == "ok":
        health, reasons = "ok", []
        if failure_count:
            changes["failure_count"] = 0
        if first_failure is not None:
            changes["first_failure"] = None
        # last_ok moves only when the verdict changes, so steady state writes nothing.
        if previous != "ok":
            changes["last_ok"] = now
    else:
        if first_failure is None:
            first_failure = now
            changes["first_failure"] = now
        settled = previous == observed and previous_reasons == reasons
        if not settled:
            failure_count += 1
            changes["failure_count"] = failure_count
        if previous == "ok" and not any(reason_code(r) in IMMEDIATE for r in reasons):
            waited = now - first_failure >= timedelta(days=settings.grace_days)
            if failure_count >= settings.failures_before_flag and waited:
                health = observed
            else:
                health, reasons = "ok", previous_reasons  # pending: keep the ok verdict
        else:
            health = observed

    event = record_verdict(changes, "health", previous, health, previous_reasons, reasons, now)
    return Evaluation(health=health, reasons=reasons, changes=changes, event=event)


def record_verdict(
    changes: dict[str, Any],
    name: str,
    previous: str | None,
    verdict: str,
    previous_reasons: list[str],
    reasons: list[str],
    now: datetime,
) -> dict[str, Any] | None:
    """Write a verdict's changes as links and deliverables store them (`<name>`,
    `<name>_since`, `reasons`, `checked_at`: only what changed); the history event of a change.
    `checked_at` reads "evaluated to this verdict at", so an unchanged verdict writes nothing."""
    event = None
    if verdict != previous:
        changes[name] = verdict
        changes[f"{name}_since"] = now
        event = {
            "at": now,
            f"{name}_from": previous,
            f"{name}_to": verdict,
            "reasons": reasons,
        }
    if verdict != previous or reasons != previous_reasons:
        changes["reasons"] = reasons
        changes["checked_at"] = now
    return event
