"""What every resource of /api/1/ogp/ shares: the namespace, errors, bodies, look-ups.

Who may do what is decided in `udata_ogp.permissions`, writes with rules go through
`udata_ogp.actions`; the resource modules only map HTTP onto them. Drafts are answered with 404
to those who may not read them, so that their existence does not leak; what lists show is
decided in `udata_ogp.visibility`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

import mongoengine
from bson import ObjectId
from flask import current_app, request
from flask_wtf.csrf import validate_csrf
from mongoengine import Q
from mongoengine.errors import NotUniqueError
from mongoengine.fields import (
    BaseField,
    DictField,
    EmbeddedDocumentField,
    ListField,
    ReferenceField,
)
from udata.api import HEADER_API_KEY, api
from udata.api_fields import patch
from udata.cors import get_allowed_origins
from udata.mongo.errors import FieldValidationError
from wtforms.validators import ValidationError

from udata_ogp import textrules
from udata_ogp.api.parsers import (
    MAX_PAGE_SIZE,
)
from udata_ogp.errors import Conflict, InvalidInput, NotFound, OgpError, duplicate_fields
from udata_ogp.errors import invalid_field as invalid
from udata_ogp.models import ActionPlan, Commitment, CommitmentLink
from udata_ogp.permissions import (
    can_read_commitment,
    can_read_plan,
)

# ---------------------------------------------------------------------------------------------
# Cross-site writes
# ---------------------------------------------------------------------------------------------

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _origin_of(url: str | None) -> str | None:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else None


def _same_host(origin: str) -> bool:
    """This site: the request's host, or SERVER_NAME. The scheme is not compared, so that a
    proxy terminating TLS without X-Forwarded-Proto does not turn the portal against itself."""
    host = urlsplit(origin).netloc
    own = {request.host.lower(), (current_app.config.get("SERVER_NAME") or "").lower()}
    return host in own - {""}


def _carries_own_credentials() -> bool:
    """An API key or a bearer token: headers a cross-site page cannot make a browser send."""
    return bool(request.headers.get(HEADER_API_KEY) or request.headers.get("Authorization"))


def _valid_csrf_token() -> bool:
    """udata's CSRF token (GET /get-csrf) in one of Flask-WTF's headers, valid for the session."""
    for header in current_app.config.get("WTF_CSRF_HEADERS", ["X-CSRFToken", "X-CSRF-Token"]):
        token = request.headers.get(header)
        if token:
            try:
                validate_csrf(token)
            except ValidationError:
                return False
            return True
    return False


def cross_site_write_refusal() -> str | None:
    """Why a write must be refused as cross-site, or None.

    udata exempts its API from CSRF protection, so a page elsewhere could make a signed-in
    browser post to it (a multipart form needs no CORS preflight) with the session cookie. A
    write that carries no credentials of its own must therefore come from the API's own origin
    or a trusted front-end (udata's CORS_ALLOWED_ORIGINS, CDATA_BASE_URL), as its `Origin` (or,
    without one, its `Referer`) says, or carry udata's CSRF token. Requests without either
    header (scripts, curl) are not browsers' cross-site requests and pass.
    """
    if request.method not in WRITE_METHODS or _carries_own_credentials():
        return None
    header = "Origin" if "Origin" in request.headers else "Referer"
    sent = request.headers.get(header)
    if sent is None:
        return None
    origin = _origin_of(sent)  # `Origin: null` (sandboxed or privacy-stripped) has none
    if origin is not None and (
        _same_host(origin) or origin in {o.lower() for o in get_allowed_origins()}
    ):
        return None
    if _valid_csrf_token():
        return None
    return (
        f"Cross-site request refused: its {header} ({sent}) is not this site's; send an API "
        "key (X-API-KEY) or udata's CSRF token."
    )


def same_site_writes(view: Callable) -> Callable:
    """Every resource of the namespace: cookie-authenticated writes only from this site."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        reason = cross_site_write_refusal()
        if reason:
            api.abort(403, reason, errors={"origin": [reason]})
        return view(*args, **kwargs)

    return wrapper


ns = api.namespace(
    "ogp",
    "Open Government Partnership action plans, their commitments and the data serving them. "
    f"Lists are paginated (page, page_size ≤ {MAX_PAGE_SIZE}: larger sizes are refused with 400). "
    "Writes authenticated by the session cookie are accepted only from this site's origin (or "
    "with udata's CSRF token); API-key calls are not concerned.",
    decorators=[same_site_writes],
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
        fields = duplicate_fields(obj)
        if not fields:
            raise Conflict(
                "Another object already has these values (e.g. same number or OGP id)."
            ) from None
        names = ", ".join(fields)
        raise Conflict(
            f"Another {obj.verbose_name} already has this {names}.", field=fields[-1]
        ) from None


# ---------------------------------------------------------------------------------------------
# Look-ups
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


plan_doc = {"params": {"plan": "Action plan id or slug"}}
commitment_doc = {"params": {"commitment": "Commitment id, slug or OGP id (e.g. FR0034)"}}


def sort_key(sort: str, sorts: dict[str, str]) -> str:
    descending = sort.startswith("-")
    column = sorts[sort.lstrip("-")]
    return f"-{column}" if descending else column


def paginate(queryset, args: dict):
    return queryset.paginate(args["page"], args["page_size"])
