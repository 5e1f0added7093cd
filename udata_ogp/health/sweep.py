"""The link-health sweep: read links and targets in batches, apply `health`, write what changed.

Per batch of `OGP_SWEEP_BATCH_SIZE` links: one read of the links (only the health fields), one
read per target class (`_id $in`, only the fields the rules need), one `bulk_write` of the links
whose verdict changed (links with exactly equal update documents share `updateMany`s over small
`_id $in` chunks, see `grouped_updates`). Links are read in target order so that the links of
one target share a batch. A full sweep whose links cover a large share of a target collection
(`DENSE_SHARE`) reads that collection once with one projected scan instead (`preload_dense`).
Then the commitment roll-up: one aggregation over the links and one read of the commitments'
current roll-up, one `bulk_write` of those that changed.

A sweep over unchanged targets therefore writes nothing to links or commitments (see
`udata_ogp.health.rules` on `checked_at` and `failure_count`); the time and summary of each run are
kept in the `ogp_sweep_run` collection (one document per scope), so "last checked" needs no
write per link.

Raw pymongo on the collections mongoengine maps, so the same code runs on mongomock and on a wire
protocol server (MongoDB, SecantusDB): no `$text`, no transactions, only `$match`/`$group`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from flask import current_app

from udata_ogp.constants import HEALTH_ORDER
from udata_ogp.health.rules import HealthSettings, diagnose, evaluate
from udata_ogp.health.storage import bulk_update, chunks, grouped_updates, raw_collection
from udata_ogp.models import Commitment, CommitmentLink
from udata_ogp.targets import STATE_FIELDS, is_public, state_of, target_model

__all__ = (
    "LINK_FIELDS",
    "SweepResult",
    "TARGET_FIELDS",
    "check_links",
    "link_ids",
    "load_targets",
    "merged_fields",
    "preload_dense",
    "rollup",
)

# The link fields `health.evaluate` reads, and what the roll-up groups by.
LINK_FIELDS = {
    name: 1
    for name in (
        "commitment",
        "target_class",
        "target_id",
        "role",
        "health",
        "reasons",
        "first_failure",
        "failure_count",
        "promised_frequency",
        "source",
        # Whether the target was public when last seen, refreshed here (`public_change`).
        "snapshot",
    )
}


def _target_fields() -> dict[str, dict[str, int]]:
    fields: dict[str, dict[str, int]] = {}
    for class_name, names in STATE_FIELDS.items():
        fields[class_name] = {name: 1 for name in names.values()}
    fields["Dataset"].update(
        {"frequency": 1, "last_update": 1, "resources._id": 1, "resources.extras": 1}
    )
    # Why udata's harvester archived it, so that the reason tells (see rules._archived_reason).
    for class_name in ("Dataset", "Dataservice"):
        fields[class_name]["harvest.archived_reason"] = 1
    # Tags too, so that a full sweep's tag links (`tagging.sync_tags`) come from the same read.
    for class_name in ("Dataset", "Reuse"):
        fields[class_name]["tags"] = 1
    return fields


TARGET_FIELDS = _target_fields()

# A fulfils link in one of these states puts its commitment "at risk". `unknown` does not: it
# means "not checked yet" (or expected data), not a known problem.
AT_RISK_HEALTH = frozenset({"stale", "broken", "gone"})

RUNS_COLLECTION = "ogp_sweep_run"

# Health events kept per link, newest last: a link that flaps for years must not grow without
# bound (every page and API listing loads it). `health_since` tells since when, whatever the cap.
HISTORY_KEPT = 50


@dataclass
class SweepResult:
    links: int = 0
    written: int = 0
    health: Counter = field(default_factory=Counter)
    commitments_written: int = 0
    tags: dict[str, Any] = field(default_factory=dict)
    # Update statements sent for the `written` links (grouped; not part of the summary).
    write_ops: int = 0
    # The raw links `check_links(keep=...)` kept on its way (not part of the summary).
    kept: list[dict] = field(default_factory=list)
    # The target collections a full run read whole (`preload_dense`; not part of the summary).
    preloaded: dict[str, dict[ObjectId, dict]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "links": self.links,
            "written": self.written,
            "health": {h: self.health[h] for h in HEALTH_ORDER if self.health[h]},
            "commitments_written": self.commitments_written,
            "tags": self.tags,
        }

    def merge(self, other: SweepResult) -> None:
        self.links += other.links
        self.written += other.written
        self.health.update(other.health)
        self.commitments_written += other.commitments_written
        self.write_ops += other.write_ops


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _link_filter(commitment=None, ids: Iterable | None = None, targets=None) -> dict[str, Any]:
    # Links to expected data (no target) have nothing to check.
    flt: dict[str, Any] = {"target_id": {"$ne": None}}
    if commitment is not None:
        flt["commitment"] = ObjectId(str(getattr(commitment, "pk", commitment)))
    if ids is not None:
        flt["_id"] = {"$in": [ObjectId(str(i)) for i in ids]}
    if targets is not None:
        class_name, target_id = targets
        flt["target_class"] = class_name
        flt["target_id"] = ObjectId(str(target_id))
    return flt


def link_ids(commitment=None) -> list[ObjectId]:
    """Ids of the links a sweep would check (for the Celery fan-out): one projected query."""
    coll = CommitmentLink._get_collection()
    cursor = coll.find(_link_filter(commitment), {"_id": 1}).sort([("target_id", 1), ("_id", 1)])
    return [doc["_id"] for doc in cursor]


def load_targets(
    refs: Iterable[tuple[str, ObjectId]], preloaded: dict[str, dict[ObjectId, dict]] | None = None
) -> dict[tuple[str, ObjectId], dict]:
    """Raw target documents, ONE query per class, only the fields the rules need.

    Classes in `preloaded` (see `preload_dense`) are served from memory with no query.
    """
    preloaded = preloaded or {}
    by_class: dict[str, set[ObjectId]] = defaultdict(set)
    for class_name, target_id in refs:
        by_class[class_name].add(target_id)
    found: dict[tuple[str, ObjectId], dict] = {}
    for class_name, ids in by_class.items():
        if class_name in preloaded:
            docs = preloaded[class_name]
            found.update({(class_name, i): docs[i] for i in ids if i in docs})
            continue
        coll = raw_collection(target_model(class_name))
        for doc in coll.find({"_id": {"$in": list(ids)}}, TARGET_FIELDS[class_name]):
            found[(class_name, doc["_id"])] = doc
    return found


# A full sweep reads a whole target collection at once when its linked documents are at least
# this share of it: one sequential scan beats one index probe per id (by far on SecantusDB,
# whose `$in` is superlinear), and memory stays bounded by the collection's projection.
DENSE_SHARE = 0.25


def merged_fields(*projections: Mapping[str, int] | None) -> dict[str, int]:
    """One inclusion projection holding each of these. A path under another one included is
    dropped: MongoDB refuses the collision (`resources.extras` with `resources.extras.x`)."""
    names = {name for projection in projections if projection for name in projection}
    return {
        name: 1
        for name in sorted(names)
        if not any(name.startswith(other + ".") for other in names if other != name)
    }


def preload_dense(
    extra_fields: Mapping[str, Mapping[str, int]] | None = None,
) -> dict[str, dict[ObjectId, dict]]:
    """`{class: {id: raw doc}}` of the target collections a full sweep should read whole.

    Dense means: the links outnumber `DENSE_SHARE` of the collection. Both sizes come from
    collection metadata (`estimated_document_count`, no scan); the link count bounds the number
    of distinct linked targets from above, so a scan is at worst `1 / DENSE_SHARE` times the
    links, never a surprise on a large sparse portal.

    `extra_fields`: what a later reader of the same documents needs besides the links' fields
    (the delivery sweep), by class, so that the collection is read once for both.
    """
    links = CommitmentLink._get_collection().estimated_document_count()
    preloaded: dict[str, dict[ObjectId, dict]] = {}
    for class_name in STATE_FIELDS:
        target_coll = raw_collection(target_model(class_name))
        size = target_coll.estimated_document_count()
        if not size:
            preloaded[class_name] = {}  # nothing to read: any link to it is gone
        elif links >= DENSE_SHARE * size:
            projection = merged_fields(
                TARGET_FIELDS[class_name], (extra_fields or {}).get(class_name)
            )
            preloaded[class_name] = {doc["_id"]: doc for doc in target_coll.find({}, projection)}
    return preloaded


def public_change(link: dict, class_name: str, target: dict | None) -> dict[str, Any]:
    """The `$set` refreshing `snapshot.public` from the target just read (empty: unchanged).

    A hard-deleted target keeps what was last seen: that is what the snapshot is for.
    """
    if target is None:
        return {}
    public = is_public(state_of(class_name, target))
    snapshot = link.get("snapshot")
    if not isinstance(snapshot, dict):
        return {"snapshot": {"public": public}}
    if snapshot.get("public") is public:
        return {}
    return {"snapshot.public": public}


def _merge_probe_facts(targets: dict, now: datetime) -> None:
    """Overlay the plugin's own URL probe results where hydra wrote nothing (probe opt-in)."""
    if not current_app.config.get("OGP_URL_PROBE"):
        return
    from udata_ogp.health.probe import facts_for

    resources = [
        r
        for (class_name, _), doc in targets.items()
        if class_name == "Dataset"
        for r in doc.get("resources") or []
    ]
    facts = facts_for([r.get("_id") for r in resources])
    for resource in resources:
        extras = resource.get("extras") or {}
        fact = facts.get(str(resource.get("_id")))
        if fact and "check:available" not in extras:
            resource["extras"] = {**extras, **fact}


def check_links(
    commitment=None,
    ids: Iterable | None = None,
    target: tuple[str, Any] | None = None,
    now: datetime | None = None,
    batch_size: int | None = None,
    rollup_commitments: bool = True,
    preloaded: dict[str, dict[ObjectId, dict]] | None = None,
    keep: Callable[[dict], bool] | None = None,
) -> SweepResult:
    """Evaluate the links in scope (all, one commitment's, some ids, or one target's).

    A full sweep reads dense target collections whole (`preload_dense`), unless the caller
    already did (`preloaded`). The raw links for which `keep` is true land in `result.kept`,
    so that a caller needing some of them (the tag links) does not read the links again.
    """
    now = now or utcnow()
    config = current_app.config
    settings = HealthSettings.from_config(config)
    batch_size = batch_size or int(config.get("OGP_SWEEP_BATCH_SIZE", 1000))
    coll = CommitmentLink._get_collection()
    result = SweepResult()
    touched: set[ObjectId] = set()

    full = commitment is None and ids is None and target is None
    groups: Counter = Counter()
    diagnoses: dict[tuple, tuple[str, list[str]]] = {}
    if not full:
        preloaded = {}
    elif preloaded is None:
        preloaded = preload_dense()
    if full:
        # Expected data too (nothing to check), so that the roll-up needs no other read.
        flt: dict[str, Any] = {}
    else:
        flt = _link_filter(commitment, ids, target)
    cursor = coll.find(flt, LINK_FIELDS).batch_size(batch_size)
    if set(preloaded) != set(STATE_FIELDS):
        # Ordered by target (indexed): the links of one target share a batch, so each target
        # is read once per sweep rather than once per batch. Useless when all are preloaded.
        cursor = cursor.sort([("target_id", 1), ("_id", 1)])
    for batch in chunks(cursor, batch_size):
        refs = (
            (link["target_class"], link["target_id"]) for link in batch if link.get("target_id")
        )
        targets = load_targets(refs, preloaded)
        _merge_probe_facts(targets, now)
        updates: list[tuple[ObjectId, dict]] = []
        for link in batch:
            if keep is not None and keep(link):
                result.kept.append(link)
            if link.get("target_id") is None:
                groups[(link["commitment"], link.get("health"), link.get("role"))] += 1
                continue
            ref = (link["target_class"], link["target_id"])
            key = (*ref, link.get("promised_frequency"))
            diagnosis = diagnoses.get(key)
            if diagnosis is None:
                # Once per target (and promised frequency), however many links it has.
                diagnosis = diagnoses[key] = diagnose(ref[0], targets.get(ref), now, key[2])
            evaluation = evaluate(link, ref[0], None, now, settings, diagnosis)
            result.links += 1
            result.health[evaluation.health] += 1
            touched.add(link["commitment"])
            groups[(link["commitment"], evaluation.health, link.get("role"))] += 1
            visibility = public_change(link, ref[0], targets.get(ref))
            if not evaluation.changed and not visibility:
                continue
            update: dict[str, Any] = {}
            if evaluation.changes or visibility:
                update["$set"] = {**evaluation.changes, **visibility}
            if evaluation.event is not None:
                update["$push"] = {
                    "health_history": {"$each": [evaluation.event], "$slice": -HISTORY_KEPT}
                }
            updates.append((link["_id"], update))
        if updates:
            # Links changing the same way (e.g. all unknown -> ok in this run) share
            # `updateMany`s over small `_id $in` chunks: one bulk_write per batch still.
            ops = grouped_updates(updates)
            coll.bulk_write(ops, ordered=False)
            result.written += len(updates)
            result.write_ops += len(ops)

    if rollup_commitments:
        # A full sweep also resets commitments that lost all their links.
        if full:
            result.commitments_written = rollup(None, groups)
        else:
            scope = touched
            if commitment is not None:
                scope = {ObjectId(str(getattr(commitment, "pk", commitment)))}
            result.commitments_written = rollup(scope)
    return result


def rollup(
    commitment_ids: Iterable[ObjectId] | None = None,
    groups: Counter | None = None,
) -> int:
    """Recompute `health_counts` and `at_risk` of commitments; write only those that changed.

    `groups` counts links by `(commitment, health, role)`; a full sweep, which has just seen
    every link, passes it and saves the aggregation. Otherwise one `$group` aggregation.
    """
    ids = None if commitment_ids is None else list(commitment_ids)
    if ids is not None and not ids:
        return 0
    if groups is None:
        match: dict[str, Any] = {} if ids is None else {"commitment": {"$in": ids}}
        pipeline = [
            {"$match": match},
            {
                "$group": {
                    "_id": {"c": "$commitment", "h": "$health", "r": "$role"},
                    "n": {"$sum": 1},
                }
            },
        ]
        groups = Counter()
        for row in CommitmentLink._get_collection().aggregate(pipeline):
            key = row["_id"]
            groups[(key["c"], key.get("h"), key.get("r"))] += row["n"]
    counts: dict[ObjectId, Counter] = defaultdict(Counter)
    at_risk: set[ObjectId] = set()
    for (cid, health, role), n in groups.items():
        health = health or "unknown"
        counts[cid][health] += n
        if role == "fulfils" and health in AT_RISK_HEALTH:
            at_risk.add(cid)

    coll = Commitment._get_collection()
    flt = {} if ids is None else {"_id": {"$in": ids}}
    updates = []
    for doc in coll.find(flt, {"health_counts": 1, "at_risk": 1}):
        cid = doc["_id"]
        new_counts = {h: counts[cid][h] for h in HEALTH_ORDER if counts[cid][h]}
        new_risk = cid in at_risk
        if (doc.get("health_counts") or {}) != new_counts or bool(doc.get("at_risk")) != new_risk:
            updates.append(
                ({"_id": cid}, {"$set": {"health_counts": new_counts, "at_risk": new_risk}})
            )
    return bulk_update(coll, updates)


def record_run(scope: str, at: datetime, summary: dict[str, Any]) -> None:
    """When the sweep last ran, per scope: the one write of a sweep that found no change."""
    db = CommitmentLink._get_db()
    db[RUNS_COLLECTION].replace_one(
        {"_id": scope}, {"_id": scope, "at": at, "summary": summary}, upsert=True
    )


def last_run(scope: str = "all") -> dict[str, Any] | None:
    return CommitmentLink._get_db()[RUNS_COLLECTION].find_one({"_id": scope})
