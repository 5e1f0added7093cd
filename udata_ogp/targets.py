"""What a link may point to: udata's datasets, reuses and dataservices.

The three models name their hidden states differently (`deleted`/`archived` on Dataset and
Reuse, `deleted_at`/`archived_at` on Dataservice): `STATE_FIELDS` says which is which, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from udata.i18n import gettext as _

from udata_ogp.constants import TARGET_CLASSES
from udata_ogp.errors import Gone, InvalidInput, NotFound
from udata_ogp.models import LinkSnapshot
from udata_ogp.textrules import clean

STATE_FIELDS: dict[str, dict[str, str]] = {
    "Dataset": {"deleted": "deleted", "archived": "archived", "private": "private"},
    "Reuse": {"deleted": "deleted", "archived": "archived", "private": "private"},
    "Dataservice": {"deleted": "deleted_at", "archived": "archived_at", "private": "private"},
}


def target_label(class_name: str | None) -> str:
    """The class of a target as a visitor reads it, in the current language, for messages."""
    labels = {"Dataset": _("Dataset"), "Reuse": _("Reuse"), "Dataservice": _("Dataservice")}
    return labels.get(class_name or "", class_name or "")


def target_model(class_name: str):
    from udata.models import Dataservice, Dataset, Reuse

    models = {"Dataset": Dataset, "Reuse": Reuse, "Dataservice": Dataservice}
    if class_name not in models:
        raise InvalidInput(
            _(
                "Unknown class %(class_name)r; expected one of: %(classes)s.",
                class_name=class_name,
                classes=", ".join(TARGET_CLASSES),
            ),
            field="element.class",
        )
    return models[class_name]


def parse_object_id(value: Any, field: str = "id") -> ObjectId:
    try:
        return ObjectId(str(value))
    except (InvalidId, TypeError):
        raise InvalidInput(_("%(value)r is not a valid id.", value=value), field=field) from None


def state_of(class_name: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """`{"deleted": ..., "archived": ..., "private": ...}` of a target read as a raw document."""
    return {state: raw.get(name) for state, name in STATE_FIELDS[class_name].items()}


def is_public(state: Mapping[str, Any]) -> bool:
    """Whether udata shows a target to everyone: neither private nor deleted (archived is)."""
    return not (state.get("deleted") or state.get("private"))


def state_of_document(target) -> dict[str, Any]:
    return {
        state: getattr(target, name, None)
        for state, name in STATE_FIELDS[type(target).__name__].items()
    }


def resolve_target(
    class_name: str, target_id: Any, allow_hidden: bool = False, as_reader: bool = True
):
    """The dataset, reuse or dataservice to link, or a clear error (400, 404, 410).

    With `as_reader`, a private or deleted target the current user may not read answers like a
    missing one, so that nobody learns that a private dataset exists.
    """
    model = target_model(class_name)
    oid = parse_object_id(target_id, field="element.id")
    target = model.objects(id=oid).first()
    state = state_of_document(target) if target is not None else {}
    hidden = bool(state.get("deleted") or state.get("private"))
    if target is None or (as_reader and hidden and not target.permissions["read"].can()):
        raise NotFound(
            _("No %(class_name)s with id %(id)s.", class_name=target_label(class_name), id=oid),
            field="element.id",
        )
    if not allow_hidden:
        if state["deleted"]:
            raise Gone(
                _("%(class_name)s %(id)s is deleted.", class_name=target_label(class_name), id=oid),
                field="element.id",
            )
        if state["private"]:
            raise InvalidInput(
                _("%(class_name)s %(id)s is private.", class_name=target_label(class_name), id=oid),
                field="element.id",
            )
    return target


def page_url(target) -> str | None:
    """The portal's own page (cdata) when a front is configured, else the API URL."""
    try:
        return target.self_web_url() or target.self_api_url(_external=True)
    except Exception:  # a front without the route must not break a link
        return None


def snapshot_of(target) -> LinkSnapshot:
    owner = target.organization or getattr(target, "owner", None)
    owner_name = None
    if owner is not None:
        owner_name = getattr(owner, "name", None) or getattr(owner, "fullname", None)
    try:
        api_url = target.self_api_url(_external=True)
    except Exception:
        api_url = None
    # udata's texts are not ours to refuse: cleaned to what a snapshot may hold.
    return LinkSnapshot(
        title=clean(target.title, kind="title"),
        slug=getattr(target, "slug", None),
        organization=clean(owner_name, kind="short"),
        organization_id=str(owner.id) if owner is not None else None,
        page_url=page_url(target),
        api_url=api_url,
        public=is_public(state_of_document(target)),
    )
