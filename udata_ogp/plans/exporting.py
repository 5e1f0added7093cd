"""Action plans → the canonical format (JSON or CSV), deterministic byte for byte.

The same dict builders tell the importer whether a stored document would change, so "what the
export says" and "what counts as unchanged" cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mongoengine import EmbeddedDocument

from udata_ogp.models import ActionPlan, Commitment
from udata_ogp.plans import document as pf

__all__ = ("commitment_dict", "export_plan", "plan_dict", "plan_document")

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


def commitment_dict(commitment: Commitment) -> dict:
    return _fields(commitment, pf.COMMITMENT_FIELDS)


def plan_document(plan: ActionPlan, commitments: Iterable[Commitment] | None = None) -> dict:
    """The canonical document of a stored plan, commitments by number.

    `commitments`: those the reader may read (`udata_ogp.visibility.plan_commitments`), in
    order; all of them when None (the administrators' CLI).
    """
    return {
        "format": pf.FORMAT,
        "plan": plan_dict(plan),
        "commitments": [
            commitment_dict(c) for c in (plan.commitments if commitments is None else commitments)
        ],
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
