"""The delivery sweep: evaluate deliverables in one batch, write what changed.

A constant number of database commands whatever the number of deliverables:
- one projected read of the deliverables in scope;
- one read per target class of the deliverables' specific targets (`_id $in`);
- ONE read of the candidate datasets of every rule deliverable together: an `$or` of
  `organization $in`, `tags $in` and `resources.schema.name $in` over the union of the rules'
  values (so the commands grow with distinct organisations/tags/schemas, chunked when large),
  never a scan of the portal; matching is then done in memory through indexes by
  organisation, tag and schema;
- at most one read per class of the objects that matched before and were not read again
  (to tell a hard deletion from a dataset that left the rules' organisation or tags);
- one read of the open licences and one of the organisations named in snapshots and proofs;
- one `bulk_write` of the deliverables that changed (nothing when nothing changed);
- the commitments' `verification`: one aggregation (partial scopes only) and one read of their
  current value and `status`, one `bulk_write` of those that changed.

Raw pymongo, like `udata_ogp.health.sweep`, so the same code runs on mongomock and on a wire
protocol server.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bson import ObjectId
from flask import current_app

from udata_ogp.constants import DELIVERABLE_STATE_ORDER
from udata_ogp.delivery import rules
from udata_ogp.health.storage import bulk_update, chunks, grouped_updates, raw_collection
from udata_ogp.health.sweep import record_run, utcnow
from udata_ogp.models import Commitment, Deliverable
from udata_ogp.targets import STATE_FIELDS, target_model

__all__ = (
    "DELIVERABLE_FIELDS",
    "DeliveryResult",
    "check_deliverables",
    "check_target",
    "deliverables_for_target",
    "rollup",
    "run",
    "run_with_links",
)

DELIVERABLE_FIELDS = {
    name: 1
    for name in (
        "commitment",
        "due",
        "target_class",
        "target_id",
        "rules",
        "state",
        "reasons",
        "first_failure",
        "failure_count",
        # What matched before, by id only: `matches_digest` tells whether they changed.
        "matches.target_class",
        "matches.target_id",
        "matches_digest",
        "delivered_at",
    )
}

# Largest `$in` list sent in one query of candidates (SecantusDB's `$in` is superlinear).
IN_CHUNK = 500


def _fields() -> dict[str, dict[str, int]]:
    fields: dict[str, dict[str, int]] = {}
    for class_name, names in STATE_FIELDS.items():
        fields[class_name] = {name: 1 for name in names.values()}
        fields[class_name].update(
            {"title": 1, "slug": 1, "organization": 1, "owner": 1, "last_modified": 1}
        )
    fields["Dataset"].update(
        {
            "tags": 1,
            "license": 1,
            "frequency": 1,
            "last_update": 1,
            "resources.url": 1,
            "resources.title": 1,
            "resources.format": 1,
            "resources.schema.name": 1,
            "resources.extras.analysis:checksum": 1,
        }
    )
    fields["Dataservice"]["license"] = 1
    return fields


# What the rules, the matches' snapshots and the proofs read of each class.
OBJECT_FIELDS = _fields()


@dataclass
class DeliveryResult:
    deliverables: int = 0
    written: int = 0
    states: Counter = field(default_factory=Counter)
    commitments_written: int = 0
    proofs: int = 0
    candidates: int = 0
    write_ops: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "deliverables": self.deliverables,
            "written": self.written,
            "states": {s: self.states[s] for s in DELIVERABLE_STATE_ORDER if self.states[s]},
            "commitments_written": self.commitments_written,
            "proofs": self.proofs,
            "candidates": self.candidates,
        }


def _oid(value: Any) -> ObjectId:
    return ObjectId(str(getattr(value, "pk", value)))


def _rules_of(doc: dict) -> dict | None:
    value = doc.get("rules")
    return value if isinstance(value, dict) and doc.get("target_id") is None else None


def _rule_values(all_rules: list[dict]) -> tuple[set[ObjectId], set[str], set[str]]:
    """The organisations, tags and schemas the rules name: what narrows their candidates."""
    orgs: set[ObjectId] = set()
    tags: set[str] = set()
    schemas: set[str] = set()
    for rule in all_rules:
        for org in rule.get("organizations") or []:
            try:
                orgs.add(ObjectId(str(org)))
            except Exception:  # an id that is no ObjectId names no organisation
                continue
        tags.update(rule.get("tags") or [])
        if rule.get("schema"):
            schemas.add(rule["schema"])
    return orgs, tags, schemas


def _is_candidate(raw: dict, orgs: set, tags: set, schemas: set) -> bool:
    """What `candidate_query` selects, for a document already in memory."""
    if raw.get("organization") in orgs or not tags.isdisjoint(raw.get("tags") or ()):
        return True
    return bool(schemas) and any(
        (r.get("schema") or {}).get("name") in schemas for r in raw.get("resources") or []
    )


def candidate_query(all_rules: list[dict]) -> list[dict]:
    """The `$or` filters (one per chunk of values) reading every rule deliverable's candidates."""
    orgs, tags, schemas = _rule_values(all_rules)
    parts = [
        *({"organization": {"$in": part}} for part in chunks(sorted(orgs), IN_CHUNK)),
        *({"tags": {"$in": part}} for part in chunks(sorted(tags), IN_CHUNK)),
        *({"resources.schema.name": {"$in": part}} for part in chunks(sorted(schemas), IN_CHUNK)),
    ]
    # Several clauses per query, up to IN_CHUNK values in all: one query in the usual case.
    queries, current, size = [], [], 0
    for part in parts:
        n = len(next(iter(part.values()))["$in"])
        if current and size + n > IN_CHUNK:
            queries.append({"$or": current} if len(current) > 1 else current[0])
            current, size = [], 0
        current.append(part)
        size += n
    if current:
        queries.append({"$or": current} if len(current) > 1 else current[0])
    return queries


class Candidates:
    """Candidate datasets indexed by organisation, tag and schema."""

    def __init__(self, docs: Iterable[dict]) -> None:
        self.docs: dict[ObjectId, dict] = {}
        self.by_org: dict[str, set[ObjectId]] = defaultdict(set)
        self.by_tag: dict[str, set[ObjectId]] = defaultdict(set)
        self.by_schema: dict[str, set[ObjectId]] = defaultdict(set)
        for doc in docs:
            _id = doc["_id"]
            self.docs[_id] = doc
            if doc.get("organization") is not None:
                self.by_org[str(doc["organization"])].add(_id)
            for tag in doc.get("tags") or []:
                self.by_tag[tag].add(_id)
            for resource in doc.get("resources") or []:
                name = (resource.get("schema") or {}).get("name")
                if name:
                    self.by_schema[name].add(_id)

    def narrowed(self, rule: dict) -> set[ObjectId]:
        """The ids that may satisfy `rule`: what all its narrowing keys give (each must hold)."""
        sets = []
        if rule.get("organizations"):
            sets.append(set().union(*(self.by_org.get(str(o), ()) for o in rule["organizations"])))
        if rule.get("tags"):
            sets.extend(self.by_tag.get(t, set()) for t in rule["tags"])
        if rule.get("schema"):
            sets.append(self.by_schema.get(rule["schema"], set()))
        if not sets:
            return set()
        sets.sort(key=len)
        return sets[0].intersection(*sets[1:])


def _read(class_name: str, ids: Iterable[ObjectId]) -> dict[ObjectId, dict]:
    ids = list(set(ids))
    found: dict[ObjectId, dict] = {}
    if not ids:
        return found
    coll = raw_collection(target_model(class_name))
    for part in chunks(sorted(ids), IN_CHUNK):
        for doc in coll.find({"_id": {"$in": part}}, OBJECT_FIELDS[class_name]):
            found[doc["_id"]] = doc
    return found


def read_open_licenses() -> set[str]:
    from udata.models import License

    coll = raw_collection(License)
    return {doc["_id"] for doc in coll.find({"flags": rules.OPEN_LICENSE_FLAG}, {"_id": 1})}


def org_names(ids: Iterable[Any]) -> dict[str, str]:
    from udata.models import Organization

    oids = {ObjectId(str(i)) for i in ids if i is not None}
    if not oids:
        return {}
    coll = raw_collection(Organization)
    return {
        str(d["_id"]): d.get("name") for d in coll.find({"_id": {"$in": list(oids)}}, {"name": 1})
    }


def _scope_filter(commitment=None, ids: Iterable | None = None) -> dict[str, Any]:
    flt: dict[str, Any] = {}
    if commitment is not None:
        flt["commitment"] = _oid(commitment)
    if ids is not None:
        flt["_id"] = {"$in": [_oid(i) for i in ids]}
    return flt


def deliverables_for_target(class_name: str, raw: dict | None, target_id: Any) -> list[ObjectId]:
    """Ids of the deliverables one object may concern: whose target it is, that it matched, or
    whose rules could take it as a candidate (its organisation, tags, schemas). One query."""
    oid = _oid(target_id)
    clauses: list[dict] = [
        {"target_class": class_name, "target_id": oid},
        {"matches.target_id": oid},
    ]
    if class_name == "Dataset" and raw is not None:
        if raw.get("organization") is not None:
            clauses.append({"rules.organizations": str(raw["organization"])})
        if raw.get("tags"):
            clauses.append({"rules.tags": {"$in": list(raw["tags"])}})
        schemas = {(r.get("schema") or {}).get("name") for r in raw.get("resources") or []} - {None}
        if schemas:
            clauses.append({"rules.schema": {"$in": sorted(schemas)}})
    coll = Deliverable._get_collection()
    return [d["_id"] for d in coll.find({"$or": clauses}, {"_id": 1})]


def check_deliverables(
    commitment=None,
    ids: Iterable | None = None,
    now: datetime | None = None,
    preloaded: dict[str, dict[ObjectId, dict]] | None = None,
) -> DeliveryResult:
    """Evaluate the deliverables in scope (all, one commitment's, or some ids).

    `preloaded`: whole target collections the link sweep has just read with `OBJECT_FIELDS`
    among its fields (`run_with_links`): those classes are served from memory, no query.
    """
    preloaded = preloaded or {}
    now = now or utcnow()
    settings = rules.DeliverySettings.from_config(current_app.config)
    result = DeliveryResult()
    full = commitment is None and ids is None
    ids = None if ids is None else list(ids)
    coll = Deliverable._get_collection()
    docs = [] if ids == [] else list(coll.find(_scope_filter(commitment, ids), DELIVERABLE_FIELDS))

    # Specific targets: one read per class.
    wanted: dict[str, set[ObjectId]] = defaultdict(set)
    for doc in docs:
        if doc.get("target_id") is not None:
            wanted[doc["target_class"]].add(doc["target_id"])
    objects: dict[tuple[str, ObjectId], dict] = {}
    for class_name, class_ids in wanted.items():
        if class_name in preloaded:
            pool = preloaded[class_name]
            objects.update({(class_name, i): pool[i] for i in class_ids if i in pool})
            continue
        for _id, raw in _read(class_name, class_ids).items():
            objects[(class_name, _id)] = raw

    # Candidates of every rule deliverable: one read (none when the datasets are preloaded).
    all_rules = [r for r in (_rules_of(d) for d in docs) if r]
    candidate_docs: list[dict] = []
    if all_rules and "Dataset" in preloaded:
        values = _rule_values(all_rules)
        candidate_docs = [
            raw for raw in preloaded["Dataset"].values() if _is_candidate(raw, *values)
        ]
    elif all_rules:
        dataset_coll = raw_collection(target_model("Dataset"))
        seen: set[ObjectId] = set()
        for query in candidate_query(all_rules):
            for raw in dataset_coll.find(query, OBJECT_FIELDS["Dataset"]):
                if raw["_id"] not in seen:
                    seen.add(raw["_id"])
                    candidate_docs.append(raw)
    candidates = Candidates(candidate_docs)
    result.candidates = len(candidates.docs)
    for _id, raw in candidates.docs.items():
        objects.setdefault(("Dataset", _id), raw)

    # What matched before and was not read again: hard-deleted, or out of the rules' reach.
    missing: dict[str, set[ObjectId]] = defaultdict(set)
    for doc in docs:
        for match in doc.get("matches") or []:
            key = (match.get("target_class"), match.get("target_id"))
            # A class read whole holds every live object: one absent from it was deleted.
            if key[1] is not None and key not in objects and key[0] not in preloaded:
                missing[key[0]].add(key[1])
    for class_name, class_ids in missing.items():
        for _id, raw in _read(class_name, class_ids).items():
            objects[(class_name, _id)] = raw

    open_licenses = read_open_licenses() if any(r.get("open_license") for r in all_rules) else set()

    # Match in memory: each distinct rule set once (deliverables often share them), each
    # object's liveness once.
    live: dict[tuple[str, ObjectId], bool] = {}

    def alive(class_name: str, raw: dict | None) -> bool:
        if raw is None:
            return False
        key = (class_name, raw["_id"])
        if key not in live:
            live[key] = rules.live_public(class_name, raw)
        return live[key]

    by_rule: dict[str, list[tuple[str, dict]]] = {}
    found: dict[ObjectId, list[tuple[str, dict]]] = {}
    for doc in docs:
        rule = _rules_of(doc)
        if rule is not None:
            key = repr(sorted(rule.items()))
            if key not in by_rule:
                raws = [candidates.docs[i] for i in sorted(candidates.narrowed(rule))]
                by_rule[key] = [
                    ("Dataset", raw)
                    for raw in raws
                    if alive("Dataset", raw)
                    and not rules.failed_rules(rule, raw, now, open_licenses)
                ]
            matched = by_rule[key]
        elif doc.get("target_id") is not None:
            raw = objects.get((doc["target_class"], doc["target_id"]))
            matched = [(doc["target_class"], raw)] if alive(doc["target_class"], raw) else []
        else:
            matched = []
        found[doc["_id"]] = matched

    owners = {
        raw.get("organization") or raw.get("owner")
        for matched in found.values()
        for _, raw in matched
    }
    names = org_names(o for o in owners if o is not None)

    updates: list[tuple[ObjectId, dict]] = []
    states: dict[ObjectId, Counter] = defaultdict(Counter)
    # One match per object, shared by the deliverables it satisfies (never changed in place).
    shown: dict[tuple[str, ObjectId], dict] = {}
    for doc in docs:
        matched = found[doc["_id"]]
        matches = []
        for class_name, raw in matched:
            key = (class_name, raw["_id"])
            if key not in shown:
                owner = raw.get("organization") or raw.get("owner")
                shown[key] = {
                    "target_class": class_name,
                    "target_id": raw["_id"],
                    "snapshot": rules.snapshot(class_name, raw, names.get(str(owner))),
                    "reasons": rules.match_reasons(class_name, raw, now),
                }
            matches.append(shown[key])
        now_ids = {(m["target_class"], m["target_id"]) for m in matches}
        removed = [
            rules.removal_reason(
                m.get("target_class"), objects.get((m.get("target_class"), m.get("target_id")))
            )
            for m in doc.get("matches") or []
            if (m.get("target_class"), m.get("target_id")) not in now_ids
        ]
        evaluation = rules.evaluate(doc, matches, now, settings, removed)
        result.deliverables += 1
        result.states[evaluation.state] += 1
        states[doc["commitment"]][evaluation.state] += 1
        if not evaluation.changed:
            continue
        changes = dict(evaluation.changes)
        event = evaluation.event
        if evaluation.freeze_proof:
            owner_of = lambda raw: names.get(str(raw.get("organization") or raw.get("owner")))  # noqa: E731
            proof = {
                "at": now,
                "items": [rules.proof_item(c, raw, owner_of(raw)) for c, raw in matched],
            }
            changes["proof"] = proof
            if event is not None:
                event = {**event, "proof": proof}
            result.proofs += 1
        update: dict[str, Any] = {}
        if changes:
            update["$set"] = changes
        if event is not None:
            update["$push"] = {"history": {"$each": [event], "$slice": -rules.HISTORY_KEPT}}
        updates.append((doc["_id"], update))
    if updates:
        ops = grouped_updates(updates)
        coll.bulk_write(ops, ordered=False)
        result.written = len(updates)
        result.write_ops = len(ops)

    if full:
        result.commitments_written = rollup(None, states)
    else:
        scope = set(states)
        if commitment is not None:
            scope.add(_oid(commitment))
        result.commitments_written = rollup(scope)
    return result


def rollup(
    commitment_ids: Iterable[ObjectId] | None = None,
    states: dict[ObjectId, Counter] | None = None,
) -> int:
    """Recompute `Commitment.verification`; write only those that changed.

    A full sweep passes the states it has just computed (every deliverable); otherwise one
    `$group` aggregation over the deliverables of these commitments.
    """
    ids = None if commitment_ids is None else list(commitment_ids)
    if ids is not None and not ids:
        return 0
    if states is None:
        states = defaultdict(Counter)
        pipeline = [
            {"$match": {"commitment": {"$in": ids}}},
            {"$group": {"_id": {"c": "$commitment", "s": "$state"}, "n": {"$sum": 1}}},
        ]
        for row in Deliverable._get_collection().aggregate(pipeline):
            key = row["_id"]
            states[key["c"]][key.get("s") or "unknown"] += row["n"]
    coll = Commitment._get_collection()
    flt = {} if ids is None else {"_id": {"$in": ids}}
    updates = []
    for doc in coll.find(flt, {"verification": 1, "status": 1}):
        value = rules.verification(doc.get("status"), states.get(doc["_id"], Counter()))
        if (doc.get("verification") or {}) != value:
            updates.append(({"_id": doc["_id"]}, {"$set": {"verification": value}}))
    return bulk_update(coll, updates)


def run(
    commitment=None,
    ids: Iterable | None = None,
    now: datetime | None = None,
    preloaded: dict[str, dict[ObjectId, dict]] | None = None,
) -> DeliveryResult:
    """The job: the sweep and its run record (scope `deliveries`)."""
    now = now or utcnow()
    result = check_deliverables(commitment=commitment, ids=ids, now=now, preloaded=preloaded)
    if commitment is None and ids is None:
        record_run("deliveries", now, result.as_dict())
    return result


def run_with_links(commitment=None, now: datetime | None = None) -> tuple[Any, DeliveryResult]:
    """The nightly job's core: the link sweep, then the delivery sweep on the same read of the
    portal (a full run reads the dense target collections once, with what both need), so that
    deliverables add no read of datasets to the sweep. Returns both results."""
    from udata_ogp.health.linkcheck import run_sweep

    now = now or utcnow()
    extra = None
    if commitment is None and Deliverable._get_collection().estimated_document_count():
        extra = OBJECT_FIELDS
    links = run_sweep(commitment=commitment, now=now, extra_fields=extra)
    preloaded, links.preloaded = links.preloaded, {}
    return links, run(commitment=commitment, now=now, preloaded=preloaded if extra else None)


def check_target(class_name: str, target_id: Any, now: datetime | None = None) -> DeliveryResult:
    """Re-evaluate the deliverables one object may concern (after its update or deletion):
    one read of the object, one of the deliverables' ids, then the sweep over those ids."""
    oid = _oid(target_id)
    raw = _read(class_name, [oid]).get(oid)
    ids = deliverables_for_target(class_name, raw, oid)
    if not ids:
        return DeliveryResult()
    return check_deliverables(ids=ids, now=now)
