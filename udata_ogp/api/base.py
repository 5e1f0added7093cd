"""REST API under /api/1/ogp/: action plans, commitments, their status and their links.

Who may do what is decided in `udata_ogp.permissions`, writes with rules go through
`udata_ogp.actions`; this module only maps HTTP onto them. Drafts are answered with 404 to
those who may not read them, so that their existence does not leak.
"""

from __future__ import annotations

from typing import Any

import mongoengine
from bson import ObjectId
from flask import Response, request
from mongoengine import Q
from mongoengine.errors import NotUniqueError
from mongoengine.fields import (
    BaseField,
    DictField,
    EmbeddedDocumentField,
    ListField,
    ReferenceField,
)
from udata.api import API, api, fields
from udata.api_fields import patch
from udata.auth import admin_permission, current_user
from udata.mongo.errors import FieldValidationError

from udata_ogp import actions
from udata_ogp.constants import TARGET_CLASSES
from udata_ogp.errors import Conflict, InvalidInput, NotFound, OgpError
from udata_ogp.models import ActionPlan, Commitment, CommitmentLink, StatusChange
from udata_ogp.parsers import (
    COMMITMENT_SORTS,
    MAX_PAGE_SIZE,
    PLAN_SORTS,
    commitment_links_parser,
    commitment_parser,
    export_parser,
    import_parser,
    link_parser,
    plan_parser,
)
from udata_ogp.permissions import (
    can_edit_commitment,
    can_edit_plan,
    can_read_commitment,
    can_read_plan,
)

ns = api.namespace(
    "ogp",
    "Open Government Partnership action plans, their commitments and the data serving them. "
    f"Lists are paginated (page, page_size ≤ {MAX_PAGE_SIZE}: larger sizes are refused with 400).",
)

# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------

element_fields = api.model(
    "OgpLinkElement",
    {
        "class": fields.String(enum=list(TARGET_CLASSES), required=True),
        "id": fields.String(required=True, description="Dataset, reuse or dataservice id"),
    },
)


def _element(link: CommitmentLink) -> dict | None:
    if link.target_id is None:
        return None
    return {"class": link.target_class, "id": str(link.target_id)}


link_fields = api.clone(
    "OgpCommitmentLink",
    CommitmentLink.__read_fields__,
    {
        "element": fields.Nested(
            element_fields,
            attribute=_element,
            allow_null=True,
            description="The linked object, like a topic element; null for expected data",
        ),
        "expected": fields.Boolean(
            attribute=lambda o: o.target_id is None, description="Data expected, not published"
        ),
    },
)
link_page_fields = api.model("OgpCommitmentLinkPage", fields.pager(link_fields))

link_create_fields = api.model(
    "OgpCommitmentLinkCreate",
    {
        "element": fields.Nested(
            element_fields, allow_null=True, description="Omit it for expected data (give a title)"
        ),
        "role": fields.String(enum=list(actions.LINK_ROLES), default="fulfils"),
        "note": fields.String(description="Why it is linked (French)"),
        "note_en": fields.String(),
        "milestone": fields.String(description="Number of the milestone served, e.g. 5.1"),
        "title": fields.String(description="Title of data expected but not yet published"),
    },
)
LINK_CREATE_KEYS = frozenset(link_create_fields)
LINK_UPDATE_KEYS = frozenset(CommitmentLink.__write_fields__)

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

import_report_fields = api.model(
    "OgpImportReport",
    {"message": fields.String(), "report": fields.Raw(description="What was (or would be) done")},
)

# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


@api.errorhandler(OgpError)
def handle_ogp_error(error: OgpError):
    """The plugin's errors, with their status and the field they are about."""
    body: dict[str, Any] = {"message": error.message}
    if error.field:
        body["errors"] = {error.field: [error.message]}
    return body, error.status


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", field=field)


# ---------------------------------------------------------------------------------------------
# Request bodies
# ---------------------------------------------------------------------------------------------


def json_object() -> dict:
    """The JSON body as an object; anything else is a 400 (malformed JSON is one already)."""
    data = request.get_json(silent=True)
    if data is None:
        if request.get_data(cache=True):
            raise InvalidInput("The request body is not valid JSON.", field="body")
        return {}
    if not isinstance(data, dict):
        raise InvalidInput("Expected a JSON object.", field="body")
    return data


def _check_keys(data: dict, allowed, path: str = "") -> None:
    for key in data:
        if key not in allowed:
            raise _invalid(f"{path}{key}", "unknown field")


def _prepare(cls, data: dict, path: str = "") -> dict:
    """Check `data` against the writable fields of `cls` and return it ready for `patch()`.

    udata's `patch()` silently drops unknown and read-only keys, skips the type checks that
    only `save()` runs (the checks of `field()` run first and may choke on a wrong type) and
    does not build `ListField(EmbeddedDocumentField)` items: all of that is done here, naming
    the field in error.
    """
    writable = cls.__write_fields__
    readable = getattr(cls, "__read_fields__", {})
    prepared: dict = {}
    for key, value in data.items():
        name = f"{path}{key}"
        if key not in writable:
            raise _invalid(name, "read-only field" if key in readable else "unknown field")
        model_field: BaseField = cls._fields[key]
        if value is None:
            prepared[key] = None
            continue
        prepared[key] = _prepare_value(model_field, value, name)
    return prepared


def _prepare_value(model_field: BaseField, value, name: str):
    if isinstance(model_field, ReferenceField):
        if isinstance(value, dict):
            value = value.get("id")
        if not isinstance(value, str) or not ObjectId.is_valid(value):
            raise _invalid(name, "expected an id")
        return value
    if isinstance(model_field, EmbeddedDocumentField):
        if not isinstance(value, dict):
            raise _invalid(name, "expected an object")
        prepared = _prepare(model_field.document_type, value, f"{name}.")
        # udata's `patch()` builds it again from the dict; built here first so that its
        # checks' errors carry the full path.
        _patch_embedded(model_field.document_type, prepared, name)
        return prepared
    if isinstance(model_field, ListField) and isinstance(model_field.field, EmbeddedDocumentField):
        if not isinstance(value, list):
            raise _invalid(name, "expected a list")
        embedded = model_field.field.document_type
        items = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise _invalid(f"{name}.{index}", "expected an object")
            prepared = _prepare(embedded, item, f"{name}.{index}.")
            items.append(_patch_embedded(embedded, prepared, f"{name}.{index}"))
        return items
    if isinstance(model_field, DictField) and not isinstance(value, dict):
        raise _invalid(name, "expected an object")
    try:
        model_field.validate(value)
    except mongoengine.ValidationError as error:
        raise _invalid(name, str(error.message or error)) from None
    if isinstance(value, bool) and not isinstance(model_field, mongoengine.BooleanField):
        raise _invalid(name, "unexpected boolean")
    return value


def _patch_embedded(cls, data: dict, name: str):
    try:
        item = patch(cls(), data)
    except FieldValidationError as error:
        raise _invalid(f"{name}.{error.field}", str(error)) from None
    _validate(item, name)
    return item


def _validate(doc, name: str | None = None) -> None:
    """Field validation without `clean()`, whose derived values assume valid types."""
    try:
        doc.validate(clean=False)
    except mongoengine.ValidationError as error:
        errors = error.to_dict() if error.errors else {}
        field = next(iter(errors), None)
        if field is not None:
            field = f"{name}.{field}" if name else field
            raise _invalid(field, str(errors[next(iter(errors))])) from None
        raise InvalidInput(str(error), field=name) from None


def apply_body(obj, data: dict):
    """Patch `obj` with a checked body; nothing is saved."""
    try:
        patch(obj, _prepare(type(obj), data))
    except FieldValidationError as error:
        raise _invalid(error.field, str(error)) from None
    _validate(obj)
    return obj


def save(obj) -> None:
    try:
        obj.save()
    except NotUniqueError:
        raise Conflict(
            "Another object already has these values (e.g. same number or OGP id)."
        ) from None


# ---------------------------------------------------------------------------------------------
# Look-ups and visibility
# ---------------------------------------------------------------------------------------------


def _by_id_or(ident: str, **alternatives) -> Q:
    query = Q()
    for key, value in alternatives.items():
        query |= Q(**{key: value})
    if ObjectId.is_valid(ident):
        query |= Q(id=ObjectId(ident))
    return query


def get_plan(ident: str) -> ActionPlan:
    plan = ActionPlan.objects(_by_id_or(ident, slug=ident)).first()
    if plan is None or not can_read_plan(plan):
        raise NotFound(f"No action plan {ident!r}.", field="plan")
    return plan


def get_commitment(ident: str) -> Commitment:
    alternatives = {"slug": ident}
    if ident.isalnum() and len(ident) <= 13:
        alternatives["ogp_id"] = ident.upper()
    commitment = Commitment.objects(_by_id_or(ident, **alternatives)).first()
    if commitment is None or not can_read_commitment(commitment):
        raise NotFound(f"No commitment {ident!r}.", field="commitment")
    return commitment


def get_link(ident: str) -> CommitmentLink:
    link = CommitmentLink.objects(id=ident).first() if ObjectId.is_valid(ident) else None
    if link is None or not can_read_commitment(link.commitment):
        raise NotFound(f"No link {ident!r}.", field="link")
    return link


def _owners() -> list:
    return [*current_user.organizations, current_user.id]


def visible_plans():
    """Published plans, and the drafts the current user edits."""
    return ActionPlan.objects.visible_by_user(current_user, Q(published=True))


def visible_commitments_query() -> Q | None:
    """The commitments the current user may read, as a query (None: everything)."""
    if admin_permission.can():
        return None
    published_plans = ActionPlan.objects(published=True).distinct("id")
    query = Q(published=True, plan__in=published_plans)
    if current_user.is_authenticated:
        owners = _owners()
        edited_plans = ActionPlan.objects.owned_by(*owners).distinct("id")
        query |= Q(owner__in=[current_user.id]) | Q(organization__in=owners[:-1])
        query |= Q(plan__in=edited_plans)
    return query


def visible_commitments():
    query = visible_commitments_query()
    return Commitment.objects(query) if query is not None else Commitment.objects


def paginate(queryset, args: dict):
    return queryset.paginate(args["page"], args["page_size"])


# ---------------------------------------------------------------------------------------------
# Action plans
# ---------------------------------------------------------------------------------------------

plan_doc = {"params": {"plan": "Action plan id or slug"}}


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
            plans = plans.order_by(_sort(args["sort"], PLAN_SORTS))
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


def _sort(sort: str, sorts: dict[str, str]) -> str:
    descending = sort.startswith("-")
    column = sorts[sort.lstrip("-")]
    return f"-{column}" if descending else column


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


# ---------------------------------------------------------------------------------------------
# Commitments
# ---------------------------------------------------------------------------------------------

commitment_doc = {"params": {"commitment": "Commitment id, slug or OGP id (e.g. FR0034)"}}


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
    if args.get("health"):
        queryset = queryset(**{f"health_counts__{args['health']}__gt": 0})
    for key in ("at_risk", "published"):
        if args.get(key) is not None:
            queryset = queryset(**{key: args[key]})
    if args.get("q"):
        queryset = queryset.search(args["q"])
    if args.get("sort"):
        queryset = queryset.order_by(_sort(args["sort"], COMMITMENT_SORTS))
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
            raise _invalid("plan", "required")
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
    def post(self, commitment: str):
        """Change the status, with a rationale (its editors and administrators)"""
        obj = get_commitment(commitment)
        data = json_object()
        _check_keys(data, STATUS_KEYS)
        for key in STATUS_KEYS:
            if data.get(key) is not None and not isinstance(data[key], str):
                raise _invalid(key, "expected a string")
        if "status" not in data:
            raise _invalid("status", "required (null for unknown)")
        change = actions.change_status(
            obj,
            status=data.get("status"),
            rationale=data.get("rationale") or "",
            evidence_url=data.get("evidence_url"),
            by=current_user._get_current_object(),
        )
        return change, 201


# ---------------------------------------------------------------------------------------------
# Links
# ---------------------------------------------------------------------------------------------

link_doc = {"params": {"link": "Link id"}}


def _filter_links(queryset, args: dict):
    if args.get("role"):
        queryset = queryset(role=args["role"])
    if args.get("health"):
        queryset = queryset(health=args["health"])
    return queryset


@ns.route(
    "/commitments/<string:commitment>/links/", endpoint="ogp_commitment_links", doc=commitment_doc
)
@api.response(404, "Commitment not found")
class CommitmentLinksAPI(API):
    @api.doc("ogp_list_commitment_links")
    @api.expect(commitment_links_parser)
    @api.marshal_with(link_page_fields)
    def get(self, commitment: str):
        """The datasets, reuses and dataservices (and expected data) serving a commitment"""
        args = commitment_links_parser.parse_args()
        obj = get_commitment(commitment)
        return paginate(_filter_links(CommitmentLink.objects(commitment=obj), args), args)

    @api.secure
    @api.doc("ogp_create_commitment_link")
    @api.expect(link_create_fields)
    @api.marshal_with(link_fields, code=201)
    @api.response(400, "Validation error")
    @api.response(403, "Forbidden")
    @api.response(409, "Already linked with that role")
    @api.response(410, "The element is deleted")
    def post(self, commitment: str):
        """Link a dataset, reuse or dataservice you edit (or expected data) to a commitment"""
        obj = get_commitment(commitment)
        data = json_object()
        _check_keys(data, LINK_CREATE_KEYS)
        for key in LINK_CREATE_KEYS - {"element"}:
            if data.get(key) is not None and not isinstance(data[key], str):
                raise _invalid(key, "expected a string")
        element = data.get("element")
        target_class = target_id = None
        if element is not None:
            if not isinstance(element, dict):
                raise _invalid("element", "expected an object with `class` and `id`")
            _check_keys(element, {"class", "id"}, "element.")
            target_class, target_id = element.get("class"), element.get("id")
            if not isinstance(target_class, str) or target_class not in TARGET_CLASSES:
                raise _invalid("element.class", f"expected one of {', '.join(TARGET_CLASSES)}")
            if not isinstance(target_id, str) or not ObjectId.is_valid(target_id):
                raise _invalid("element.id", "expected an id")
        link = actions.create_link(
            obj,
            target_class=target_class,
            target_id=target_id,
            role=data.get("role") or "fulfils",
            note=data.get("note"),
            note_en=data.get("note_en"),
            milestone=data.get("milestone"),
            title=data.get("title"),
            by=current_user._get_current_object(),
        )
        return link, 201


@ns.route("/links/", endpoint="ogp_links")
class LinksAPI(API):
    @api.doc("ogp_list_links")
    @api.expect(link_parser)
    @api.marshal_with(link_page_fields)
    def get(self):
        """Links of readable commitments, e.g. those a dataset serves (`?dataset=<id>`)"""
        args = link_parser.parse_args()
        links = CommitmentLink.objects
        targets = [name for name in ("dataset", "reuse", "dataservice") if args.get(name)]
        if len(targets) > 1:
            raise InvalidInput("Give one of dataset, reuse or dataservice.", field=targets[1])
        if targets:
            links = CommitmentLink.objects.for_target(
                {"dataset": "Dataset", "reuse": "Reuse", "dataservice": "Dataservice"}[targets[0]],
                args[targets[0]],
            )
        if args.get("commitment"):
            links = links(commitment=get_commitment(args["commitment"]))
        if args.get("plan"):
            links = links.for_plan(get_plan(args["plan"]))
        links = _filter_links(links, args)
        query = visible_commitments_query()
        if query is not None:
            # Only the commitments these links point to are checked: one query, whatever
            # the number of links.
            # Ids, not documents: a dereferencing `distinct` would load every commitment.
            candidates = links.no_dereference().distinct("commitment")
            ids = [getattr(c, "id", c) for c in candidates]
            readable = Commitment.objects(query, id__in=ids).distinct("id")
            links = links(commitment__in=readable)
        return paginate(links, args)


@ns.route("/links/<string:link>/", endpoint="ogp_link", doc=link_doc)
@api.response(404, "Link not found")
class LinkAPI(API):
    @api.doc("ogp_get_link")
    @api.marshal_with(link_fields)
    def get(self, link: str):
        """Read a link"""
        return get_link(link)

    @api.secure
    @api.doc("ogp_update_link")
    @api.expect(CommitmentLink.__write_fields__)
    @api.marshal_with(link_fields)
    @api.response(400, "Validation error")
    @api.response(403, "Forbidden")
    def put(self, link: str):
        """Change role, note or milestone (the commitment's editors and the object's producers)"""
        obj = get_link(link)
        data = json_object()
        _check_keys(data, LINK_UPDATE_KEYS)
        for key, value in data.items():
            if value is not None and not isinstance(value, str):
                raise _invalid(key, "expected a string")
        if "role" in data and data["role"] is None:
            raise _invalid("role", "required")
        return actions.update_link(obj, **data)

    @api.secure
    @api.doc("ogp_delete_link")
    @api.response(204, "Deleted")
    @api.response(403, "Forbidden")
    def delete(self, link: str):
        """Unlink (the commitment's editors and the linked object's producers)"""
        actions.delete_link(get_link(link))
        return "", 204


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
        raise _invalid("file", "upload the plan as `file`")
    content = request.get_data(cache=True)
    if not content:
        raise _invalid("file", "send the plan as a JSON body or a multipart `file`")
    return content, None, "json"


@ns.route("/plans/import/", endpoint="ogp_plans_import")
class PlansImportAPI(API):
    @api.secure(admin_permission)
    @api.doc("ogp_import_plan")
    @api.expect(import_parser)
    @api.response(200, "Imported (or checked, with dry_run) with nothing new", import_report_fields)
    @api.response(201, "Imported, something was created", import_report_fields)
    @api.response(400, "Every problem of the file, by pointer; nothing was written")
    def post(self):
        """Import an action plan (JSON or CSV), all or nothing (administrators)"""
        from udata_ogp.importing import ImportValidationError, import_plan

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
        from udata_ogp.exporting import export_plan

        args = export_parser.parse_args()
        obj = get_plan(plan)
        fmt = args.get("format") or "json"
        text = export_plan(obj, fmt)
        mimetype = "text/csv" if fmt == "csv" else "application/json"
        response = Response(text, mimetype=mimetype)
        response.headers["Content-Disposition"] = f'attachment; filename="{obj.slug}.{fmt}"'
        return response
