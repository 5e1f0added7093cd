"""Action plans → the canonical format (JSON or CSV), deterministic byte for byte.

The same dict builders tell the importer whether a stored document would change, so "what the
export says" and "what counts as unchanged" cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mongoengine import EmbeddedDocument

from udata_ogp.loading import ref_id
from udata_ogp.models import ActionPlan, Commitment, Deliverable
from udata_ogp.plans import document as pf
from udata_ogp.visibility import deliverable_items, hidden_targets

__all__ = (
    "commitment_dict",
    "deliverable_dict",
    "declared_deliverables",
    "export_plan",
    "plan_dict",
    "plan_document",
)

_EMBEDDED_FIELDS = {
    "axes": pf.AXIS_FIELDS,
    "documents": pf.DOCUMENT_FIELDS,
    "contact": pf.CONTACT_FIELDS,
    "contacts": pf.CONTACT_FIELDS,
    "resources": pf.RESOURCE_FIELDS,
    "irm": pf.IRM_FIELDS,
    "milestones": pf.MILESTONE_FIELDS,
    "sub_commitments": pf.SUB_COMMITMENT_FIELDS,
}


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _value(name: str, value: Any) -> Any:
    if isinstance(value, EmbeddedDocument):
        return _fields(value, _EMBEDDED_FIELDS[name])
    if isinstance(value, list | tuple):
        return [_value(name, item) for item in value]
    if isinstance(value, dict):
        return pf.sort_free(dict(value))
    return value


def _fields(obj: Any, names: tuple[str, ...] | list[str]) -> dict:
    out = {}
    for name in names:
        value = getattr(obj, name, None)
        if _empty(value):
            continue
        out[name] = _value(name, value)
    return out


def plan_dict(plan: ActionPlan) -> dict:
    return _fields(plan, pf.PLAN_FIELDS)


def commitment_dict(commitment: Commitment, deliverables: list[dict] | None = None) -> dict:
    out = _fields(commitment, pf.COMMITMENT_FIELDS)
    if deliverables:
        out["deliverables"] = deliverables
    return out


def deliverable_dict(deliverable: Deliverable, hidden: bool = False) -> dict:
    """What a deliverable declares (never what the sweep found). A target this reader may not
    see keeps only its class, as in the API (`{"class": ..., "hidden": true}`)."""
    out: dict[str, Any] = {}
    for name in pf.DELIVERABLE_FIELDS:
        if name == "element":
            if deliverable.target_id is None:
                continue
            value: Any = {"class": deliverable.target_class}
            value.update({"hidden": True} if hidden else {"id": str(deliverable.target_id)})
        elif name == "rules":
            value = _fields(deliverable.rules, pf.RULE_FIELDS) if deliverable.rules else None
        else:
            value = getattr(deliverable, name, None)
        if not _empty(value):
            out[name] = value
    return out


# What the export reads of a deliverable: its declaration, and for a reader what the visibility
# rule needs (the snapshots of its matches and proofs).
_DECLARED = ("id", "commitment", "created_at", "target_class", "target_id", *pf.DELIVERABLE_FIELDS)
_SEEN = ("matches", "proof", "history")


def declared_deliverables(
    commitments: list[Commitment], reader: bool = True
) -> dict[Any, list[Deliverable]]:
    """The deliverables of these commitments by commitment id, in the order they were declared:
    one query. `reader`: False for the administrators' CLI (nothing is hidden)."""
    fields = [name for name in (*_DECLARED, *(_SEEN if reader else ())) if name != "element"]
    found: dict[Any, list[Deliverable]] = {}
    if not commitments:
        return found
    query = Deliverable.objects(commitment__in=[c.id for c in commitments])
    for deliverable in query.only(*fields).order_by("created_at", "id"):
        found.setdefault(ref_id(deliverable._data.get("commitment")), []).append(deliverable)
    return found


def plan_document(plan: ActionPlan, commitments: Iterable[Commitment] | None = None) -> dict:
    """The canonical document of a stored plan, commitments by number, with their deliverables.

    `commitments`: those the reader may read (`udata_ogp.visibility.plan_commitments`), in
    order; all of them when None (the administrators' CLI). A reader's export hides the
    deliverables' targets they may not see (`udata_ogp.visibility.hidden_targets`).
    """
    reader = commitments is not None
    chosen = list(plan.commitments if commitments is None else commitments)
    deliverables = declared_deliverables(chosen, reader=reader)
    hidden: set = set()
    if reader and deliverables:
        groups: dict[Any, list] = {}
        for cid, items in deliverables.items():
            for deliverable in items:
                groups.setdefault(cid, []).extend(deliverable_items(deliverable))
        hidden = hidden_targets(groups)

    def declared(commitment: Commitment) -> list[dict]:
        return [
            deliverable_dict(d, hidden=(commitment.id, d.target_class, d.target_id) in hidden)
            for d in deliverables.get(commitment.id, [])
        ]

    return {
        "format": pf.FORMAT,
        "plan": plan_dict(plan),
        "commitments": [commitment_dict(c, declared(c)) for c in chosen],
    }


def export_plan(
    plan: ActionPlan, fmt: str = "json", commitments: Iterable[Commitment] | None = None
) -> str:
    doc = plan_document(plan, commitments)
    if fmt == "json":
        return pf.dump_json(doc)
    if fmt == "csv":
        from udata_ogp.plans.csvfile import to_csv

        return to_csv(doc)
    raise ValueError(f"Unknown format {fmt!r}; expected json or csv.")
