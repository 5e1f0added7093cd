"""What every resource of /api/1/ogp/ shares: the namespace, errors, bodies, look-ups, visibility.

Who may do what is decided in `udata_ogp.permissions`, writes with rules go through
`udata_ogp.actions`; the resource modules only map HTTP onto them. Drafts are answered with 404
to those who may not read them, so that their existence does not leak.
"""

from __future__ import annotations

from typing import Any

import mongoengine
from bson import ObjectId
from flask import request
from mongoengine import Q
from mongoengine.errors import NotUniqueError
from mongoengine.fields import (
    BaseField,
    DictField,
    EmbeddedDocumentField,
    ListField,
    ReferenceField,
)
from udata.api import api
from udata.api_fields import patch
from udata.auth import admin_permission, current_user
from udata.mongo.errors import FieldValidationError

from udata_ogp import textrules
from udata_ogp.api.parsers import (
    MAX_PAGE_SIZE,
)
from udata_ogp.errors import Conflict, InvalidInput, NotFound, OgpError
from udata_ogp.errors import invalid_field as invalid
from udata_ogp.models import ActionPlan, Commitment, CommitmentLink
from udata_ogp.permissions import (
    can_read_commitment,
    can_read_plan,
)

ns = api.namespace(
    "ogp",
    "Open Government Partnership action plans, their commitments and the data serving them. "
    f"Lists are paginated (page, page_size ≤ {MAX_PAGE_SIZE}: larger sizes are refused with 400).",
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


# ---------------------------------------------------------------------------------------------
# Request bodies
# ---------------------------------------------------------------------------------------------


def json_object() -> dict:
    """The JSON body as an object, parsed by the text rules; anything else is a 400 naming the
    place at fault (`udata_ogp.guard` already refused the worst before anything read it)."""
    content = request.get_data(cache=True)
    if not content.strip():
        return {}
    try:
        data = textrules.loads(content)
    except textrules.TextError as error:
        raise invalid(error.field or "body", error.message) from None
    if not isinstance(data, dict):
        raise InvalidInput("Expected a JSON object.", field="body")
    return data


def check_keys(data: dict, allowed, path: str = "") -> None:
    for key in data:
        if key not in allowed:
            raise invalid(f"{path}{key}", "unknown field")


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
            raise invalid(name, "read-only field" if key in readable else "unknown field")
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
            raise invalid(name, "expected an id")
        return value
    if isinstance(model_field, EmbeddedDocumentField):
        if not isinstance(value, dict):
            raise invalid(name, "expected an object")
        prepared = _prepare(model_field.document_type, value, f"{name}.")
        # udata's `patch()` builds it again from the dict; built here first so that its
        # checks' errors carry the full path.
        _patch_embedded(model_field.document_type, prepared, name)
        return prepared
    if isinstance(model_field, ListField) and isinstance(model_field.field, EmbeddedDocumentField):
        if not isinstance(value, list):
            raise invalid(name, "expected a list")
        embedded = model_field.field.document_type
        items = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise invalid(f"{name}.{index}", "expected an object")
            prepared = _prepare(embedded, item, f"{name}.{index}.")
            items.append(_patch_embedded(embedded, prepared, f"{name}.{index}"))
        return items
    if isinstance(model_field, DictField) and not isinstance(value, dict):
        raise invalid(name, "expected an object")
    try:
        model_field.validate(value)
    except mongoengine.ValidationError as error:
        raise invalid(name, str(error.message or error)) from None
    if isinstance(value, bool) and not isinstance(model_field, mongoengine.BooleanField):
        raise invalid(name, "unexpected boolean")
    return value


def _patch_embedded(cls, data: dict, name: str):
    try:
        item = patch(cls(), data)
    except FieldValidationError as error:
        raise invalid(f"{name}.{error.field}", str(error)) from None
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
            raise invalid(field, str(errors[next(iter(errors))])) from None
        raise InvalidInput(str(error), field=name) from None


def apply_body(obj, data: dict):
    """Patch `obj` with a checked body; nothing is saved."""
    try:
        patch(obj, _prepare(type(obj), data))
    except FieldValidationError as error:
        raise invalid(error.field, str(error)) from None
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


plan_doc = {"params": {"plan": "Action plan id or slug"}}
commitment_doc = {"params": {"commitment": "Commitment id, slug or OGP id (e.g. FR0034)"}}


def sort_key(sort: str, sorts: dict[str, str]) -> str:
    descending = sort.startswith("-")
    column = sorts[sort.lstrip("-")]
    return f"-{column}" if descending else column


def paginate(queryset, args: dict):
    return queryset.paginate(args["page"], args["page_size"])
