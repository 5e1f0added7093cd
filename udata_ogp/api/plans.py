"""Action plans: list, create, read, update, delete."""

from __future__ import annotations

from udata.api import API, api
from udata.auth import admin_permission

from udata_ogp.api.base import (
    apply_body,
    get_plan,
    json_object,
    ns,
    paginate,
    plan_doc,
    save,
    sort_key,
)
from udata_ogp.api.parsers import (
    PLAN_SORTS,
    plan_parser,
)
from udata_ogp.models import ActionPlan, Commitment, CommitmentLink
from udata_ogp.permissions import (
    can_edit_plan,
)
from udata_ogp.visibility import visible_plans

# ---------------------------------------------------------------------------------------------
# Action plans
# ---------------------------------------------------------------------------------------------


@ns.route("/plans/", endpoint="ogp_plans")
class PlansAPI(API):
    @api.doc("ogp_list_plans")
    @api.expect(plan_parser)
    @api.marshal_with(ActionPlan.__page_fields__)
    def get(self):
        """List action plans (drafts only for their editors and administrators)"""
        args = plan_parser.parse_args()
        plans = visible_plans()
        for key in ("country", "cycle", "status", "published"):
            if args.get(key) is not None:
                plans = plans(**{key: args[key]})
        if args.get("sort"):
            plans = plans.order_by(sort_key(args["sort"], PLAN_SORTS))
        return paginate(plans, args)

    @api.secure(admin_permission)
    @api.doc("ogp_create_plan")
    @api.expect(ActionPlan.__write_fields__)
    @api.marshal_with(ActionPlan.__read_fields__, code=201)
    @api.response(400, "Validation error")
    def post(self):
        """Create an action plan (administrators)"""
        plan = apply_body(ActionPlan(), json_object())
        save(plan)
        return plan, 201


@ns.route("/plans/<string:plan>/", endpoint="ogp_plan", doc=plan_doc)
@api.response(404, "Action plan not found")
class PlanAPI(API):
    @api.doc("ogp_get_plan")
    @api.marshal_with(ActionPlan.__read_fields__)
    def get(self, plan: str):
        """Read an action plan"""
        return get_plan(plan)

    @api.secure
    @api.doc("ogp_update_plan")
    @api.expect(ActionPlan.__write_fields__)
    @api.marshal_with(ActionPlan.__read_fields__)
    @api.response(400, "Validation error")
    @api.response(403, "Forbidden")
    def put(self, plan: str):
        """Update an action plan (its editors and administrators)"""
        obj = get_plan(plan)
        if not can_edit_plan(obj):
            api.abort(403, "Only the plan's editors and administrators edit it.")
        apply_body(obj, json_object())
        save(obj)
        return obj

    @api.secure(admin_permission)
    @api.doc("ogp_delete_plan")
    @api.response(204, "Deleted, with its commitments and links")
    def delete(self, plan: str):
        """Delete an action plan, its commitments and their links (administrators)"""
        obj = get_plan(plan)
        # Children first: an interruption leaves a plan with fewer commitments, never
        # commitments or links pointing at nothing.
        CommitmentLink.objects.for_plan(obj).delete()
        Commitment.objects(plan=obj).delete()
        obj.delete()
        return "", 204
