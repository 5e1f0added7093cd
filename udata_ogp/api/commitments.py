"""Commitments: list with filters, create, read, update, delete; status changes and history."""

from __future__ import annotations

from udata.api import API, api, fields
from udata.auth import current_user

from udata_ogp import actions
from udata_ogp.api.base import (
    apply_body,
    check_keys,
    commitment_doc,
    get_commitment,
    get_plan,
    invalid,
    json_object,
    ns,
    paginate,
    save,
    sort_key,
)
from udata_ogp.api.parsers import (
    COMMITMENT_SORTS,
    commitment_parser,
)
from udata_ogp.constants import DISCREPANCIES
from udata_ogp.models import Commitment, CommitmentLink, StatusChange
from udata_ogp.permissions import (
    can_edit_commitment,
    can_edit_plan,
)
from udata_ogp.visibility import visible_commitments

# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------

status_change_fields = api.model(
    "OgpStatusChangeInput",
    {
        "status": fields.String(
            enum=list(actions.COMPLETION), required=True, description="null means unknown"
        ),
        "rationale": fields.String(required=True, description="Why the status changes"),
        "evidence_url": fields.String(description="http(s) URL of the evidence"),
    },
)
STATUS_KEYS = frozenset(status_change_fields)


# ---------------------------------------------------------------------------------------------
# Commitments
# ---------------------------------------------------------------------------------------------


def verification_filter(value: str) -> dict:
    """Commitments whose deliverables add up to `value` (a summary or a discrepancy). One not
    rolled up yet has no deliverable: it counts as `none`, as the pages count it."""
    if value in DISCREPANCIES:
        return {"verification.discrepancy": value}
    if value == "none":
        return {"$or": [{"verification.summary": "none"}, {"verification.summary": None}]}
    return {"verification.summary": value}


def filter_commitments(queryset, args: dict):
    if args.get("plan"):
        queryset = queryset(plan=get_plan(args["plan"]))
    if args.get("status"):
        queryset = queryset(status=args["status"])
    if args.get("axis") is not None:
        queryset = queryset(axis=args["axis"])
    if args.get("lead_institution"):
        queryset = queryset(lead_institutions=args["lead_institution"])
    if args.get("policy_area"):
        queryset = queryset(policy_areas=args["policy_area"])
    if args.get("ogp_value"):
        queryset = queryset(ogp_values=args["ogp_value"])
    if args.get("verification"):
        queryset = queryset(__raw__=verification_filter(args["verification"]))
    if args.get("health"):
        queryset = queryset(**{f"health_counts__{args['health']}__gt": 0})
    for key in ("at_risk", "published"):
        if args.get(key) is not None:
            queryset = queryset(**{key: args[key]})
    if args.get("q"):
        queryset = queryset.search(args["q"])
    if args.get("sort"):
        queryset = queryset.order_by(sort_key(args["sort"], COMMITMENT_SORTS))
    return queryset


@ns.route("/commitments/", endpoint="ogp_commitments")
class CommitmentsAPI(API):
    @api.doc("ogp_list_commitments")
    @api.expect(commitment_parser)
    @api.marshal_with(Commitment.__page_fields__)
    def get(self):
        """List commitments, with filters, keyword search and sort"""
        args = commitment_parser.parse_args()
        return paginate(filter_commitments(visible_commitments(), args), args)

    @api.secure
    @api.doc("ogp_create_commitment")
    @api.expect(Commitment.__write_fields__)
    @api.marshal_with(Commitment.__read_fields__, code=201)
    @api.response(400, "Validation error")
    @api.response(403, "Forbidden")
    def post(self):
        """Create a commitment in a plan (the plan's editors and administrators)"""
        data = json_object()
        if not data.get("plan"):
            raise invalid("plan", "required")
        commitment = apply_body(Commitment(), data)
        if not can_edit_plan(commitment.plan):
            api.abort(403, "Only the plan's editors and administrators add commitments.")
        save(commitment)
        return commitment, 201


@ns.route("/commitments/<string:commitment>/", endpoint="ogp_commitment", doc=commitment_doc)
@api.response(404, "Commitment not found")
class CommitmentAPI(API):
    @api.doc("ogp_get_commitment")
    @api.marshal_with(Commitment.__read_fields__)
    def get(self, commitment: str):
        """Read a commitment"""
        return get_commitment(commitment)

    @api.secure
    @api.doc("ogp_update_commitment")
    @api.expect(Commitment.__write_fields__)
    @api.marshal_with(Commitment.__read_fields__)
    @api.response(400, "Validation error (status changes through /status/)")
    @api.response(403, "Forbidden")
    def put(self, commitment: str):
        """Update a commitment: fields and milestones (its editors and administrators)"""
        obj = get_commitment(commitment)
        if not can_edit_commitment(obj):
            api.abort(403, "Only the commitment's editors and administrators edit it.")
        previous_plan = obj.plan
        apply_body(obj, json_object())
        if obj.plan != previous_plan and not can_edit_plan(obj.plan):
            api.abort(403, "Only the target plan's editors move a commitment into it.")
        save(obj)
        if obj.plan != previous_plan:
            CommitmentLink.objects(commitment=obj).update(set__plan=obj.plan)
        return obj

    @api.secure
    @api.doc("ogp_delete_commitment")
    @api.response(204, "Deleted, with its links")
    @api.response(403, "Forbidden")
    def delete(self, commitment: str):
        """Delete a commitment and its links (the plan's editors and administrators)"""
        obj = get_commitment(commitment)
        if not can_edit_plan(obj.plan):
            api.abort(403, "Only the plan's editors and administrators delete commitments.")
        CommitmentLink.objects(commitment=obj).delete()
        obj.delete()
        return "", 204


@ns.route(
    "/commitments/<string:commitment>/status/", endpoint="ogp_commitment_status", doc=commitment_doc
)
@api.response(404, "Commitment not found")
class CommitmentStatusAPI(API):
    @api.doc("ogp_commitment_status_history")
    @api.marshal_list_with(StatusChange.__read_fields__)
    def get(self, commitment: str):
        """History of the commitment's status changes, oldest first"""
        return get_commitment(commitment).status_history

    @api.secure
    @api.doc("ogp_change_commitment_status")
    @api.expect(status_change_fields)
    @api.marshal_with(StatusChange.__read_fields__, code=201)
    @api.response(400, "Validation error")
    @api.response(403, "Forbidden")
    @api.response(409, "Changed concurrently too many times in a row; try again")
    def post(self, commitment: str):
        """Change the status, with a rationale (its editors and administrators)"""
        obj = get_commitment(commitment)
        data = json_object()
        check_keys(data, STATUS_KEYS)
        for key in STATUS_KEYS:
            if data.get(key) is not None and not isinstance(data[key], str):
                raise invalid(key, "expected a string")
        if "status" not in data:
            raise invalid("status", "required (null for unknown)")
        change = actions.change_status(
            obj,
            status=data.get("status"),
            rationale=data.get("rationale") or "",
            evidence_url=data.get("evidence_url"),
            by=current_user._get_current_object(),
        )
        return change, 201
