"""Deliverables: what data must exist for a commitment to count as delivered, and what the
portal's own data says of it (state, matches, proof, history), per commitment and one by one."""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from udata.api import API, api, fields
from udata.auth import current_user

from udata_ogp.api.base import (
    commitment_doc,
    get_commitment,
    json_object,
    ns,
    paginate,
)
from udata_ogp.api.parsers import _paginated
from udata_ogp.constants import DELIVERABLE_STATES, TARGET_CLASSES
from udata_ogp.delivery import actions
from udata_ogp.errors import NotFound
from udata_ogp.loading import ref_id
from udata_ogp.models import Deliverable, DeliverableRules
from udata_ogp.permissions import can_read_commitment
from udata_ogp.visibility import (
    DeliverableTarget,
    deliverable_items,
    hidden_targets,
    target_hidden,
)

# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------

_object_fields = {
    "class": fields.String(enum=list(TARGET_CLASSES)),
    "id": fields.String(description="null when `hidden`"),
    "hidden": fields.Boolean(
        description="The object is not public (any more) and you may not see it: only its "
        "class is given"
    ),
    "title": fields.String(),
    "organization": fields.String(description="Name of the owning organization or user"),
    "page_url": fields.String(),
}
match_fields = api.model(
    "OgpDeliveryMatch",
    {**_object_fields, "reasons": fields.List(fields.String, description="e.g. overdue")},
)
proof_resource_fields = api.model(
    "OgpProofResource",
    {
        "url": fields.String(),
        "title": fields.String(),
        "format": fields.String(),
        "checksum": fields.String(description="udata-hydra's analysis:checksum, if any"),
    },
)
proof_item_fields = api.model(
    "OgpProofItem",
    {
        **_object_fields,
        "license": fields.String(),
        "last_update": fields.ISODateTime(),
        "resources": fields.List(fields.Nested(proof_resource_fields)),
    },
)
proof_fields = api.model(
    "OgpProof",
    {
        "at": fields.ISODateTime(description="When the deliverable was met"),
        "items": fields.List(fields.Nested(proof_item_fields)),
    },
)
event_fields = api.model(
    "OgpDeliverableEvent",
    {
        "at": fields.ISODateTime(),
        "state_from": fields.String(),
        "state_to": fields.String(),
        "reasons": fields.List(fields.String),
        "proof": fields.Nested(proof_fields, allow_null=True),
    },
)
element_fields = api.model(
    "OgpDeliverableElement",
    {
        "class": fields.String(enum=list(TARGET_CLASSES), required=True),
        "id": fields.String(description="null when `hidden`"),
        "hidden": fields.Boolean(),
    },
)
rules_fields = api.clone("OgpDeliverableRules", DeliverableRules.__read_fields__, {})


def _commitment_id(deliverable: Deliverable) -> ObjectId:
    # The stored reference, not `deliverable.commitment`: a page of deliverables must not load
    # their commitments one by one.
    return ref_id(deliverable._data.get("commitment"))


def _object(deliverable: Deliverable, item) -> dict[str, Any]:
    if target_hidden(_commitment_id(deliverable), item):
        return {"class": item.target_class, "id": None, "hidden": True}
    snapshot = item.snapshot
    return {
        "class": item.target_class,
        "id": str(item.target_id),
        "hidden": False,
        "title": snapshot.title if snapshot else None,
        "organization": snapshot.organization if snapshot else None,
        "page_url": snapshot.page_url if snapshot else None,
    }


def _match(deliverable: Deliverable, match) -> dict[str, Any]:
    shown = _object(deliverable, match)
    if not shown["hidden"]:
        shown["reasons"] = list(match.reasons or [])
    return shown


def _proof(deliverable: Deliverable, proof) -> dict[str, Any] | None:
    if proof is None:
        return None
    items = []
    for item in proof.items or []:
        shown = _object(deliverable, item)
        if not shown["hidden"]:
            shown.update(
                license=item.license,
                last_update=item.last_update,
                resources=[r.to_mongo().to_dict() for r in item.resources or []],
            )
        items.append(shown)
    return {"at": proof.at, "items": items}


def _element(deliverable: Deliverable) -> dict | None:
    if deliverable.target_id is None:
        return None
    hidden = target_hidden(_commitment_id(deliverable), DeliverableTarget(deliverable))
    target_id = None if hidden else str(deliverable.target_id)
    return {"class": deliverable.target_class, "id": target_id, "hidden": hidden}


def _history(deliverable: Deliverable) -> list[dict]:
    return [
        {
            "at": event.at,
            "state_from": event.state_from,
            "state_to": event.state_to,
            "reasons": list(event.reasons or []),
            "proof": _proof(deliverable, event.proof),
        }
        for event in reversed(deliverable.history or [])
    ]


deliverable_fields = api.model(
    "OgpDeliverable",
    {
        "id": fields.String(readonly=True),
        "commitment": fields.String(attribute=lambda d: str(_commitment_id(d)), readonly=True),
        "milestone": fields.String(description="Number of the milestone it delivers, if any"),
        "title": fields.String(required=True, description="What the plan promised (French)"),
        "title_en": fields.String(),
        "due": fields.String(description="Due date (YYYY[-MM[-DD]])"),
        "note": fields.String(),
        "note_en": fields.String(),
        "element": fields.Nested(
            element_fields,
            attribute=_element,
            allow_null=True,
            description="The one object that delivers it (null: rules)",
        ),
        "rules": fields.Nested(rules_fields, allow_null=True),
        "state": fields.String(enum=list(DELIVERABLE_STATES), readonly=True),
        "state_since": fields.ISODateTime(readonly=True),
        "reasons": fields.List(fields.String, readonly=True),
        "checked_at": fields.ISODateTime(readonly=True),
        "delivered_at": fields.ISODateTime(readonly=True, description="First time it was met"),
        "matches": fields.List(
            fields.Nested(match_fields),
            attribute=lambda d: [_match(d, m) for m in d.matches or []],
            readonly=True,
            description="Public, live objects that satisfy it now",
        ),
        "proof": fields.Nested(
            proof_fields,
            attribute=lambda d: _proof(d, d.proof),
            allow_null=True,
            readonly=True,
            description="What delivered it, frozen when it was met (kept after the data goes)",
        ),
        "history": fields.List(
            fields.Nested(event_fields),
            attribute=_history,
            readonly=True,
            description="Changes of state, newest first",
        ),
        "created_at": fields.ISODateTime(readonly=True),
        "last_modified": fields.ISODateTime(readonly=True),
    },
)
deliverable_page_fields = api.model("OgpDeliverablePage", fields.pager(deliverable_fields))

deliverable_input_fields = api.model(
    "OgpDeliverableInput",
    {
        "title": fields.String(required=True),
        "title_en": fields.String(),
        "due": fields.String(description="YYYY, YYYY-MM or YYYY-MM-DD"),
        "note": fields.String(),
        "note_en": fields.String(),
        "milestone": fields.String(description="Number of a milestone of the commitment"),
        "element": fields.Nested(
            api.model(
                "OgpDeliverableElementInput",
                {
                    "class": fields.String(enum=list(TARGET_CLASSES), required=True),
                    "id": fields.String(required=True),
                },
            ),
            description="One object (give it or rules)",
        ),
        "rules": fields.Nested(rules_fields, description="Rules any dataset may satisfy"),
    },
)

deliverables_parser = _paginated()
deliverables_parser.add_argument(
    "state", type=str, location="args", choices=list(DELIVERABLE_STATES)
)


def decide_visibility(deliverables) -> None:
    """What this reader may see of these deliverables' objects, decided for all of them in one
    batch (a constant number of queries, whatever their number and matches)."""
    groups: dict[ObjectId, list] = {}
    for deliverable in deliverables:
        groups.setdefault(_commitment_id(deliverable), []).extend(deliverable_items(deliverable))
    hidden_targets(groups)


def get_deliverable(ident: str) -> Deliverable:
    deliverable = Deliverable.objects(id=ident).first() if ObjectId.is_valid(ident) else None
    if deliverable is None or not can_read_commitment(deliverable.commitment):
        raise NotFound(f"No deliverable {ident!r}.", field="deliverable")
    decide_visibility([deliverable])
    return deliverable


# ---------------------------------------------------------------------------------------------
# Routes
# ---------------------------------------------------------------------------------------------


@ns.route(
    "/commitments/<string:commitment>/deliverables/",
    endpoint="ogp_commitment_deliverables",
    doc=commitment_doc,
)
@api.response(404, "Commitment not found")
class CommitmentDeliverablesAPI(API):
    @api.doc("ogp_list_commitment_deliverables")
    @api.expect(deliverables_parser)
    @api.marshal_with(deliverable_page_fields)
    def get(self, commitment: str):
        """What data must exist for a commitment to be delivered, and what the data says"""
        args = deliverables_parser.parse_args()
        obj = get_commitment(commitment)
        deliverables = Deliverable.objects(commitment=obj)
        if args.get("state"):
            deliverables = deliverables(state=args["state"])
        page = paginate(deliverables, args)
        decide_visibility(page.objects)
        return page

    @api.secure
    @api.doc("ogp_create_commitment_deliverable")
    @api.expect(deliverable_input_fields)
    @api.marshal_with(deliverable_fields, code=201)
    @api.response(400, "Validation error")
    @api.response(403, "Forbidden")
    @api.response(410, "The element is deleted")
    def post(self, commitment: str):
        """Declare a deliverable: one object, or rules any dataset may satisfy (editors)"""
        obj = get_commitment(commitment)
        deliverable = actions.create_deliverable(
            obj, json_object(), by=current_user._get_current_object()
        )
        decide_visibility([deliverable])
        return deliverable, 201


@ns.route(
    "/deliverables/<string:deliverable>/",
    endpoint="ogp_deliverable",
    doc={"params": {"deliverable": "Deliverable id"}},
)
@api.response(404, "Deliverable not found")
class DeliverableAPI(API):
    @api.doc("ogp_get_deliverable")
    @api.marshal_with(deliverable_fields)
    def get(self, deliverable: str):
        """Read a deliverable, its state, matches, proof and history"""
        return get_deliverable(deliverable)

    @api.secure
    @api.doc("ogp_update_deliverable")
    @api.expect(deliverable_input_fields)
    @api.marshal_with(deliverable_fields)
    @api.response(400, "Validation error")
    @api.response(403, "Forbidden")
    def put(self, deliverable: str):
        """Change a deliverable (the commitment's editors); new rules are evaluated afresh"""
        obj = actions.update_deliverable(get_deliverable(deliverable), json_object())
        decide_visibility([obj])
        return obj

    @api.secure
    @api.doc("ogp_delete_deliverable")
    @api.response(204, "Deleted")
    @api.response(403, "Forbidden")
    def delete(self, deliverable: str):
        """Remove a deliverable (the commitment's editors)"""
        actions.delete_deliverable(get_deliverable(deliverable))
        return "", 204
