"""Deliverable rules and states: pure functions over raw Mongo documents (no database, no Flask).

The delivery sweep (`udata_ogp.delivery.sweep`) reads the deliverables and their candidate
objects as plain dicts, asks `failed_rules` / `live_public` which objects match, calls
`evaluate()` and writes back only the fields it returns.

States (see `constants.DELIVERABLE_STATES`) and their reasons:

=========  ==================  ==========================================================
state      reasons             when
=========  ==================  ==========================================================
met        []                  a public, live object satisfies it now
pending    []                  not met, and no due date or not due within the window
at_risk    due_soon            not met and due within `at_risk_days`
at_risk    stale_matches       met only by stale objects (overdue datasets)
breached   due_passed          the due date passed and it is not met
breached   withdrawn[, why]    it was delivered before and its data went away (`why`:
                               `deleted`, `gone`, `private`, `archived`, `rules` = no longer
                               satisfies the rules)
unknown    []                  never evaluated
=========  ==================  ==========================================================

Hysteresis as for links (`udata_ogp.health.rules`): a `met` deliverable leaves `met` only after
`failures_before_flag` consecutive failing evaluations and `grace_days` since the first, except
when its data was deleted, hard-deleted or made private (at once). Any other move is immediate.
The first `met` freezes a proof; a re-delivery after a withdrawal freezes a new one.
"""

from __future__ import annotations

import calendar
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from udata.core.dataset.constants import UpdateFrequency

from udata_ogp.constants import DELIVERABLE_RULES
from udata_ogp.health.rules import HealthSettings, _naive, overdue, record_verdict

__all__ = (
    "DeliverySettings",
    "Evaluation",
    "IMMEDIATE",
    "RULE_NAMES",
    "due_end",
    "evaluate",
    "failed_rules",
    "live_public",
    "match_reasons",
    "proof_item",
    "removal_reason",
    "snapshot",
    "verification",
)

# In the order they are checked and reported.
RULE_NAMES = DELIVERABLE_RULES

# Ways a matching object goes away that skip the grace period: facts about the portal.
IMMEDIATE = frozenset({"deleted", "gone", "private"})

# Every reason code a deliverable's state may carry (the module docstring says when): the pages
# word each one (`web.rows.DELIVERY_REASONS`, else the links' labels).
REASON_CODES = frozenset(
    {
        "due_soon",
        "stale_matches",
        "due_passed",
        "withdrawn",
        "deleted",
        "gone",
        "private",
        "archived",
        "rules",
    }
)

# udata's flag of a licence that the Open Definition recognises (`License.flags`).
OPEN_LICENSE_FLAG = "okd_compliant"

# History events kept per deliverable, newest last (each delivery carries its proof).
HISTORY_KEPT = 50


@dataclass(frozen=True)
class DeliverySettings:
    at_risk_days: float = 60
    grace_days: float = 2
    failures_before_flag: int = 2

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DeliverySettings:
        health = HealthSettings.from_config(config)
        return cls(
            at_risk_days=float(config.get("OGP_DELIVERY_AT_RISK_DAYS", 60)),
            grace_days=health.grace_days,
            failures_before_flag=health.failures_before_flag,
        )


@dataclass
class Evaluation:
    """What changed on a deliverable: `changes` to `$set`, `event` to push to its history, and
    whether the sweep must freeze a proof of the current matches (into `proof` and the event)."""

    state: str
    reasons: list[str]
    changes: dict[str, Any] = field(default_factory=dict)
    event: dict[str, Any] | None = None
    freeze_proof: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.changes) or self.event is not None


def due_end(due: str | None) -> datetime | None:
    """The last moment of a partial date: "2019" → 2019-12-31 23:59:59, "2019-06" → 06-30."""
    if not due:
        return None
    parts = str(due).strip().split("-")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        return None
    try:
        if len(numbers) == 1:
            day = datetime(numbers[0], 12, 31)
        elif len(numbers) == 2:
            last = calendar.monthrange(numbers[0], numbers[1])[1]
            day = datetime(numbers[0], numbers[1], last)
        elif len(numbers) == 3:
            day = datetime(numbers[0], numbers[1], numbers[2])
        else:
            return None
    except ValueError:
        return None
    return day + timedelta(days=1) - timedelta(microseconds=1)


def _state(class_name: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    # Local import: targets imports the models, and this module must stay importable alone.
    from udata_ogp.targets import state_of

    return state_of(class_name, raw)


def live_public(class_name: str, raw: Mapping[str, Any] | None) -> bool:
    """Whether an object can satisfy a deliverable: it exists, is public and not archived."""
    if raw is None:
        return False
    from udata_ogp.targets import is_public

    state = _state(class_name, raw)
    return is_public(state) and not state.get("archived")


def removal_reason(class_name: str, raw: Mapping[str, Any] | None) -> str:
    """Why an object that matched before does not any more (see the module docstring)."""
    if raw is None:
        return "gone"
    state = _state(class_name, raw)
    for name in ("deleted", "private", "archived"):
        if state.get(name):
            return name
    return "rules"


def _frequency(value: Any) -> UpdateFrequency | None:
    if not value:
        return None
    try:
        return UpdateFrequency(value)
    except ValueError:
        return None


def _period(freq: UpdateFrequency) -> timedelta | None:
    """How often a frequency updates; continuous is the most frequent of all."""
    if freq is UpdateFrequency.CONTINUOUS:
        return timedelta(0)
    return freq.delta


def _frequent_enough(declared: Any, wanted: Any) -> bool:
    want = _frequency(wanted)
    if want is None:
        return True  # not a frequency udata knows: nothing to hold against the dataset
    have = _frequency(declared)
    if have is None:
        return False
    want_period, have_period = _period(want), _period(have)
    if want_period is None:
        # Punctual, irregular, unknown...: only the same declaration says as much.
        return have is want
    return have_period is not None and have_period <= want_period


def _value(rules: Mapping[str, Any], name: str) -> Any:
    value = rules.get(name)
    return None if value in (None, [], "") else value


def failed_rules(
    rules: Mapping[str, Any],
    dataset: Mapping[str, Any],
    now: datetime,
    open_licenses: Iterable[str] | None = None,
) -> list[str]:
    """The rules a raw dataset fails, in `RULE_NAMES` order; empty means it satisfies them.

    `open_licenses`: the ids of udata's open licences (`License` documents flagged
    `okd_compliant`), read once per sweep; None reads as "no licence is open".
    """
    failed: list[str] = []
    resources = dataset.get("resources") or []
    organizations = _value(rules, "organizations")
    if organizations and str(dataset.get("organization")) not in {str(o) for o in organizations}:
        failed.append("organizations")
    tags = _value(rules, "tags")
    if tags and not set(tags) <= set(dataset.get("tags") or []):
        failed.append("tags")
    schema = _value(rules, "schema")
    if schema and not any(((r.get("schema") or {}).get("name")) == schema for r in resources):
        failed.append("schema")
    if rules.get("open_license") and dataset.get("license") not in set(open_licenses or ()):
        failed.append("open_license")
    formats = _value(rules, "formats")
    if formats:
        wanted = {str(f).strip().lower() for f in formats}
        if not any(str(r.get("format") or "").strip().lower() in wanted for r in resources):
            failed.append("formats")
    min_resources = rules.get("min_resources")
    if min_resources and len(resources) < int(min_resources):
        failed.append("min_resources")
    frequency = _value(rules, "frequency")
    if frequency and not _frequent_enough(dataset.get("frequency"), frequency):
        failed.append("frequency")
    if rules.get("fresh") and overdue(dataset.get("frequency"), dataset.get("last_update"), now):
        failed.append("fresh")
    return failed


def match_reasons(class_name: str, raw: Mapping[str, Any], now: datetime) -> list[str]:
    """Why a match is weak (empty: a full match). An overdue dataset still matches, staly."""
    if class_name == "Dataset" and overdue(raw.get("frequency"), raw.get("last_update"), now):
        return ["overdue"]
    return []


def snapshot(class_name: str, raw: Mapping[str, Any], org_name: str | None) -> dict[str, Any]:
    """A `LinkSnapshot` as a raw dict (title, slug, organisation, public), from a raw document."""
    from udata_ogp.targets import is_public
    from udata_ogp.textrules import clean

    owner = raw.get("organization") or raw.get("owner")
    return {
        "title": clean(raw.get("title"), kind="title"),
        "slug": raw.get("slug"),
        "organization": clean(org_name, kind="short"),
        "organization_id": str(owner) if owner is not None else None,
        "public": is_public(_state(class_name, raw)),
    }


def proof_item(class_name: str, raw: Mapping[str, Any], org_name: str | None) -> dict[str, Any]:
    """One object as it is now, raw `ProofItem`: readable after the object is deleted."""
    from udata_ogp.textrules import clean

    resources = []
    for resource in raw.get("resources") or []:
        extras = resource.get("extras") or {}
        item = {
            "url": clean(resource.get("url"), kind="url"),
            "title": clean(resource.get("title"), kind="title"),
            "format": clean(resource.get("format"), kind="short"),
        }
        checksum = extras.get("analysis:checksum")
        if checksum:
            item["checksum"] = clean(str(checksum), kind="short")
        resources.append({k: v for k, v in item.items() if v is not None})
    license_id = raw.get("license")
    return {
        "target_class": class_name,
        "target_id": raw["_id"],
        "snapshot": snapshot(class_name, raw, org_name),
        "license": str(license_id) if license_id is not None else None,
        "last_update": _naive(raw.get("last_update") or raw.get("last_modified")),
        "resources": resources,
    }


def _observe(
    deliverable: Mapping[str, Any],
    matches: list[dict],
    now: datetime,
    settings: DeliverySettings,
    removed: Iterable[str],
) -> tuple[str, list[str]]:
    if any(not m.get("reasons") for m in matches):
        return "met", []
    if matches:
        return "at_risk", ["stale_matches"]
    if deliverable.get("delivered_at") is not None:
        return "breached", ["withdrawn", *sorted(set(removed))]
    due = due_end(deliverable.get("due"))
    if due is not None:
        if now > due:
            return "breached", ["due_passed"]
        if due - now <= timedelta(days=settings.at_risk_days):
            return "at_risk", ["due_soon"]
    return "pending", []


def _comparable(matches: Iterable[Mapping[str, Any]] | None) -> list:
    return [dict(m) for m in matches or []]


def matches_digest(matches: Iterable[Mapping[str, Any]]) -> str:
    """A fingerprint of the matches (ids, snapshots, reasons), stored beside them, so that the
    sweep tells whether they changed without reading them back whole."""
    text = json.dumps(_comparable(matches), sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def evaluate(
    deliverable: Mapping[str, Any],
    matches: list[dict],
    now: datetime,
    settings: DeliverySettings,
    removed: Iterable[str] = (),
) -> Evaluation:
    """Apply the states and the hysteresis to one deliverable.

    `deliverable`: its stored fields (`state`, `reasons`, `due`, `first_failure`,
    `failure_count`, `delivered_at`, `matches_digest`, and `matches` or at least their ids);
    missing keys read as never evaluated.
    `matches`: the raw `DeliveryMatch` dicts of the public, live objects satisfying it now,
    sorted (the sweep's order), each with `reasons` (`["overdue"]` for a stale one).
    `removed`: `removal_reason()` of each object that matched before and does not now.
    """
    now = _naive(now)
    previous = deliverable.get("state") or "unknown"
    previous_reasons = list(deliverable.get("reasons") or [])
    failure_count = int(deliverable.get("failure_count") or 0)
    first_failure = _naive(deliverable.get("first_failure"))
    removed = list(removed)
    observed, reasons = _observe(deliverable, matches, now, settings, removed)

    changes: dict[str, Any] = {}
    waiting = False
    if observed == "met" or previous != "met":
        # Only a met deliverable waits; everything else takes the verdict at once.
        state = observed
        if failure_count:
            changes["failure_count"] = 0
        if first_failure is not None:
            changes["first_failure"] = None
    else:
        if first_failure is None:
            first_failure = now
            changes["first_failure"] = now
        failure_count += 1
        immediate = any(r in IMMEDIATE for r in removed)
        waited = now - first_failure >= timedelta(days=settings.grace_days)
        if immediate or (failure_count >= settings.failures_before_flag and waited):
            state = observed
            failure_count = 0
            changes["first_failure"] = None
            if deliverable.get("first_failure") is None:
                changes.pop("first_failure")
        else:
            # Pending: keep the met verdict and the matches it stands on, so that the next
            # sweep still sees what went away (and how: a deletion then flips at once).
            state, reasons = "met", previous_reasons
            waiting = True
        if failure_count != int(deliverable.get("failure_count") or 0):
            changes["failure_count"] = failure_count
        else:
            changes.pop("failure_count", None)

    freeze = (
        state == "met"
        and previous != "met"
        and (deliverable.get("delivered_at") is None or "withdrawn" in previous_reasons)
    )
    if state == "met" and deliverable.get("delivered_at") is None:
        changes["delivered_at"] = now

    event = record_verdict(changes, "state", previous, state, previous_reasons, reasons, now)
    if not waiting:
        digest = matches_digest(matches)
        stored = deliverable.get("matches_digest")
        if stored is None:  # evaluated before digests were kept: compare the matches themselves
            same = _comparable(matches) == _comparable(deliverable.get("matches"))
        else:
            same = digest == stored
        if not same:
            changes["matches"] = matches
            changes["matches_digest"] = digest
    return Evaluation(
        state=state, reasons=reasons, changes=changes, event=event, freeze_proof=freeze
    )


def verification(status: str | None, states: Counter) -> dict[str, Any]:
    """The `Commitment.verification` dict of a commitment whose deliverables are in `states`."""
    total = sum(states.values())
    counts = {
        name: int(states.get(name, 0))
        for name in ("met", "pending", "at_risk", "breached", "unknown")
    }
    if not total:
        summary = "none"
    elif counts["breached"]:
        summary = "breached"
    elif counts["met"] == total:
        summary = "verified"
    elif not counts["met"]:
        summary = "unverified"
    else:
        summary = "partial"
    discrepancy = None
    if total:
        if status in ("complete", "substantial") and (counts["breached"] or not counts["met"]):
            discrepancy = "claimed_not_verified"
        elif status in ("not_started", "limited") and counts["met"] == total:
            discrepancy = "verified_beyond_claim"
    return {"deliverables": total, **counts, "summary": summary, "discrepancy": discrepancy}
