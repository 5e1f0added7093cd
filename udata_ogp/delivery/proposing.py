"""Gaps that close themselves: portal datasets proposed to a commitment's editors.

Run after the delivery sweep. Two kinds of subject (see `constants.PROPOSAL_KINDS`):

- a deliverable with rules that is not met: a public, live dataset its rules narrow to (its
  organisations, tags or schema) with a title similar to the deliverable's, which fails some
  other rule (one satisfying every rule would have met it). Reasons: `similar_title` and
  `rule_failed:<rule>`;
- an expected-data link (no target yet): a public, live dataset of the commitment's organisation
  (else its plan's) with a title similar to the link's.

A proposal is made once per subject and dataset (`Proposal.key`, unique): a rejected one is never
made again, and two runs at once make it once. A deliverable met later keeps its open proposals:
no decision is recorded that nobody made, and its editors may still pin one dataset.

Reads, whatever the number of subjects: the deliverables, the expected links, their commitments
and plans, the candidate datasets (one `$or` query per `IN_CHUNK` values), the links those
commitments already have to them, the keys already proposed, the organisations' names, and the
open licences when a rule asks for one; then one `insert_many`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo.errors import BulkWriteError

from udata_ogp.delivery import rules
from udata_ogp.delivery.similarity import is_similar
from udata_ogp.delivery.sweep import (
    OBJECT_FIELDS,
    Candidates,
    _oid,
    candidate_query,
    org_names,
    read_open_licenses,
    utcnow,
)
from udata_ogp.health.storage import raw_collection
from udata_ogp.loading import ref_id
from udata_ogp.models import ActionPlan, Commitment, CommitmentLink, Deliverable, Proposal
from udata_ogp.targets import target_model

__all__ = ("ProposeResult", "propose")

DUPLICATE_KEY = 11000


@dataclass
class ProposeResult:
    created: int = 0
    skipped: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "skipped": self.skipped}


def _owners(commitment_ids: Iterable[ObjectId]) -> dict[ObjectId, ObjectId | None]:
    """The organisation each commitment belongs to (its own, else its plan's): two reads."""
    ids = list(set(commitment_ids))
    if not ids:
        return {}
    docs = list(
        Commitment._get_collection().find({"_id": {"$in": ids}}, {"organization": 1, "plan": 1})
    )
    plans = {ref_id(d.get("plan")) for d in docs if d.get("organization") is None}
    plan_orgs = {}
    if plans:
        for plan in ActionPlan._get_collection().find(
            {"_id": {"$in": list(plans)}}, {"organization": 1}
        ):
            plan_orgs[plan["_id"]] = ref_id(plan.get("organization"))
    return {
        d["_id"]: ref_id(d.get("organization")) or plan_orgs.get(ref_id(d.get("plan")))
        for d in docs
    }


def _near(candidates: Candidates, rule: dict) -> set[ObjectId]:
    """Datasets that hold to at least one of the rule's organisations, tags or schema: where a
    near miss is looked for (the sweep's `narrowed` wants all of them: a match)."""
    ids: set[ObjectId] = set()
    for org in rule.get("organizations") or []:
        ids |= candidates.by_org.get(str(org), set())
    for tag in rule.get("tags") or []:
        ids |= candidates.by_tag.get(tag, set())
    if rule.get("schema"):
        ids |= candidates.by_schema.get(rule["schema"], set())
    return ids


def propose(commitment=None, now: datetime | None = None) -> ProposeResult:
    """Propose datasets for the unmet rule deliverables and the expected data in scope."""
    now = now or utcnow()
    scope: dict[str, Any] = {} if commitment is None else {"commitment": _oid(commitment)}
    deliverables = list(
        Deliverable._get_collection().find(
            {**scope, "rules": {"$ne": None}, "target_id": None, "state": {"$ne": "met"}},
            {"commitment": 1, "title": 1, "title_en": 1, "rules": 1},
        )
    )
    expected = list(
        CommitmentLink._get_collection().find(
            {**scope, "target_id": None, "title": {"$nin": [None, ""]}},
            {"commitment": 1, "title": 1},
        )
    )
    result = ProposeResult()
    if not deliverables and not expected:
        return result
    owners = _owners(link["commitment"] for link in expected)
    wanted = [d["rules"] for d in deliverables]
    link_orgs = sorted({str(o) for o in owners.values() if o is not None})
    if link_orgs:
        wanted.append({"organizations": link_orgs})
    docs: list[dict] = []
    dataset_coll = raw_collection(target_model("Dataset"))
    for query in candidate_query(wanted):
        docs.extend(dataset_coll.find(query, OBJECT_FIELDS["Dataset"]))
    candidates = Candidates(d for d in docs if rules.live_public("Dataset", d))
    if not candidates.docs:
        return result
    licenses = read_open_licenses() if any(r.get("open_license") for r in wanted) else set()

    found: list[dict] = []
    for deliverable in deliverables:
        titles = [deliverable.get("title"), deliverable.get("title_en")]
        for _id in sorted(_near(candidates, deliverable["rules"])):
            doc = candidates.docs[_id]
            if not any(is_similar(title, doc.get("title")) for title in titles if title):
                continue
            failed = rules.failed_rules(deliverable["rules"], doc, now, licenses)
            if not failed:
                continue  # it satisfies every rule: the sweep counts it, nothing to propose
            found.append(
                {
                    "kind": "deliverable_target",
                    "commitment": deliverable["commitment"],
                    "deliverable": deliverable["_id"],
                    "doc": doc,
                    "reasons": ["similar_title", *(f"rule_failed:{name}" for name in failed)],
                }
            )
    for link in expected:
        org = owners.get(link["commitment"])
        if org is None:
            continue
        for _id in sorted(candidates.by_org.get(str(org), ())):
            doc = candidates.docs[_id]
            if is_similar(link.get("title"), doc.get("title")):
                found.append(
                    {
                        "kind": "expected_data",
                        "commitment": link["commitment"],
                        "link": link["_id"],
                        "doc": doc,
                        "reasons": ["similar_title"],
                    }
                )
    if not found:
        return result

    # A dataset the commitment already links is not its missing expected data (it may still be
    # the one to pin as a deliverable's target).
    linked = {
        (ref_id(link["commitment"]), link["target_id"])
        for link in CommitmentLink._get_collection().find(
            {
                "commitment": {
                    "$in": list({f["commitment"] for f in found if f["kind"] == "expected_data"})
                },
                "target_id": {"$in": list({f["doc"]["_id"] for f in found})},
            },
            {"commitment": 1, "target_id": 1},
        )
    }
    for item in found:
        subject = item.get("deliverable") or item.get("link")
        item["key"] = Proposal.key_for(item["kind"], subject, "Dataset", item["doc"]["_id"])
    known = {
        d["key"]
        for d in Proposal._get_collection().find(
            {"key": {"$in": [f["key"] for f in found]}}, {"key": 1}
        )
    }
    fresh = [
        f
        for f in found
        if f["key"] not in known
        and not (f["kind"] == "expected_data" and (f["commitment"], f["doc"]["_id"]) in linked)
    ]
    result.skipped = len(found) - len(fresh)
    if not fresh:
        return result
    names = org_names(f["doc"].get("organization") for f in fresh)
    documents = []
    for item in {f["key"]: f for f in fresh}.values():
        doc = item["doc"]
        documents.append(
            {
                "commitment": item["commitment"],
                "kind": item["kind"],
                "deliverable": item.get("deliverable"),
                "link": item.get("link"),
                "target_class": "Dataset",
                "target_id": doc["_id"],
                "snapshot": rules.snapshot("Dataset", doc, names.get(str(doc.get("organization")))),
                "reasons": item["reasons"],
                "state": "open",
                "key": item["key"],
                "created_at": now,
                "last_modified": now,
            }
        )
    coll = Proposal._get_collection()
    try:
        inserted = len(coll.insert_many(documents, ordered=False).inserted_ids)
    except BulkWriteError as error:
        # Another run made some of them first: the unique key kept one of each.
        errors = error.details.get("writeErrors", [])
        if any(e.get("code") != DUPLICATE_KEY for e in errors):
            raise
        inserted = error.details.get("nInserted", len(documents) - len(errors))
    result.created = inserted
    result.skipped += len(documents) - inserted + (len(fresh) - len(documents))
    return result
