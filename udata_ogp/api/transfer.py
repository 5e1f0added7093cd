"""Import and export of whole plans (administrators): the code of `udata ogp import|export`."""

from __future__ import annotations

from flask import Response, request
from udata.api import API, api, fields
from udata.auth import admin_permission, current_user

from udata_ogp.api.base import get_plan, invalid, ns, plan_doc
from udata_ogp.api.parsers import (
    export_parser,
    import_parser,
)
from udata_ogp.visibility import plan_commitments

# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------

import_report_fields = api.model(
    "OgpImportReport",
    {"message": fields.String(), "report": fields.Raw(description="What was (or would be) done")},
)


# ---------------------------------------------------------------------------------------------
# Import and export (administrators): the same code as `udata ogp import` / `export`
# ---------------------------------------------------------------------------------------------


def _import_content() -> tuple[bytes, bytes | None, str]:
    """The uploaded file (multipart `file`) or the raw JSON body, and the format it implies."""
    upload = request.files.get("file")
    if upload is not None:
        milestones = request.files.get("milestones")
        fmt = "csv" if (upload.filename or "").lower().endswith(".csv") else "json"
        return upload.read(), milestones.read() if milestones else None, fmt
    if request.files:
        raise invalid("file", "upload the plan as `file`")
    content = request.get_data(cache=True)
    if not content:
        raise invalid("file", "send the plan as a JSON body or a multipart `file`")
    return content, None, "json"


@ns.route("/plans/import/", endpoint="ogp_plans_import")
class PlansImportAPI(API):
    @api.secure(admin_permission)
    @api.doc("ogp_import_plan")
    @api.expect(import_parser)
    @api.response(200, "Imported (or checked, with dry_run) with nothing new", import_report_fields)
    @api.response(201, "Imported, something was created", import_report_fields)
    @api.response(400, "Every problem of the file, by pointer; nothing was written")
    @api.response(409, "Another import of the plan is running, or a write was refused meanwhile")
    def post(self):
        """Import an action plan (JSON or CSV), all or nothing (administrators)"""
        from udata_ogp.plans.importing import ImportValidationError, import_plan

        args = import_parser.parse_args()
        content, milestones, guessed = _import_content()
        fmt = args.get("format") or guessed
        try:
            report = import_plan(
                content,
                fmt,
                dry_run=bool(args.get("dry_run")),
                by=current_user._get_current_object(),
                milestones_csv=milestones,
            )
        except ImportValidationError as error:
            errors: dict[str, list[str]] = {}
            for problem in error.problems:
                errors.setdefault(problem.pointer or "/", []).append(problem.message)
            api.abort(
                400,
                f"{len(error.problems)} problem(s), nothing written",
                errors=errors,
                problems=[{"pointer": p.pointer, "message": p.message} for p in error.problems],
            )
        status = 201 if report.created and not report.dry_run else 200
        message = "Dry run: nothing written" if report.dry_run else "Imported"
        return {"message": message, "report": report.as_dict()}, status


@ns.route("/plans/<string:plan>/export/", endpoint="ogp_plan_export", doc=plan_doc)
@api.response(404, "Action plan not found")
class PlanExportAPI(API):
    @api.secure(admin_permission)
    @api.doc("ogp_export_plan")
    @api.expect(export_parser)
    @api.produces(["application/json", "text/csv"])
    def get(self, plan: str):
        """Export an action plan in the canonical format, re-importable (administrators)"""
        from udata_ogp.plans.exporting import export_plan

        args = export_parser.parse_args()
        obj = get_plan(plan)
        fmt = args.get("format") or "json"
        # The same rule as the page export (administrators read everything).
        text = export_plan(obj, fmt, commitments=plan_commitments(obj))
        mimetype = "text/csv" if fmt == "csv" else "application/json"
        response = Response(text, mimetype=mimetype)
        response.headers["Content-Disposition"] = f'attachment; filename="{obj.slug}.{fmt}"'
        return response
