"""Batch loading of what links point to, for lists of links (pages, API, feeds).

A page showing N links must not run N queries: targets are read with ONE query per class
(`id__in`, only the fields a list needs) and their owners with one query per owner kind.
Targets are read raw (`as_pymongo`) so that nothing dereferences lazily behind our back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bson import DBRef, ObjectId

from udata_ogp.targets import STATE_FIELDS, state_of, target_model
from udata_ogp.textrules import clean

__all__ = ("TargetInfo", "load_targets", "ref_id")

# Fields read per class: title, slug (URLs), owner, last update and the hidden states.
_DATE_FIELDS = {
    "Dataset": ("last_update", "last_modified"),
    "Reuse": ("last_modified",),
    "Dataservice": ("metadata_modified_at", "last_modified", "created_at"),
}


@dataclass
class TargetInfo:
    """What a list shows about a dataset, reuse or dataservice (or its absence)."""

    class_name: str
    id: ObjectId
    exists: bool = True
    title: str | None = None
    slug: str | None = None
    url: str | None = None
    producer: str | None = None
    producer_id: ObjectId | None = None
    producer_kind: str | None = None  # "organization" or "user"
    last_update: datetime | None = None
    state: dict[str, Any] = field(default_factory=dict)


def ref_id(value: Any) -> ObjectId | None:
    """The id of a reference however mongoengine or pymongo returns it (DBRef, doc, id)."""
    if value is None:
        return None
    if isinstance(value, DBRef):
        return value.id
    if isinstance(value, ObjectId):
        return value
    if isinstance(value, dict):
        return value.get("_id") or value.get("$id")
    return getattr(value, "id", None) or getattr(value, "pk", None)


def _web_url(model, raw: dict) -> str | None:
    """udata's own `self_web_url()` (cdata), falling back to the API URL without a front."""
    # A bare instance with just id and slug: enough for `_link_id`, and no query.
    obj = model(id=raw["_id"], slug=raw.get("slug"))
    try:
        return obj.self_web_url() or obj.self_api_url(_external=True)
    except Exception:  # a missing route must not break a list
        return None


def load_targets(keys: Iterable[tuple[str, Any]]) -> dict[tuple[str, ObjectId], TargetInfo]:
    """`{(class, id): TargetInfo}` for `(class, id)` pairs: one query per class and owner kind.

    Ids with no document get `exists=False` (hard-deleted: callers show the link's snapshot).
    """
    from udata.models import Organization, User

    wanted: dict[str, set[ObjectId]] = {}
    for class_name, target_id in keys:
        if class_name and target_id is not None:
            wanted.setdefault(class_name, set()).add(ObjectId(str(target_id)))

    infos: dict[tuple[str, ObjectId], TargetInfo] = {}
    org_ids: set[ObjectId] = set()
    user_ids: set[ObjectId] = set()
    for class_name, ids in wanted.items():
        model = target_model(class_name)
        state_fields = list(STATE_FIELDS[class_name].values())
        date_fields = list(_DATE_FIELDS.get(class_name, ()))
        # `only()` takes model field names; `as_pymongo()` returns db field names.
        fields = ["id", "title", "slug", "organization", "owner", *state_fields, *date_fields]
        fields = [name for name in fields if name == "id" or name in model._fields]
        query = model.objects(id__in=list(ids)).only(*fields).as_pymongo()
        raws = {raw["_id"]: raw for raw in query}
        for oid in ids:
            raw = raws.get(oid)
            if raw is None:
                infos[(class_name, oid)] = TargetInfo(class_name, oid, exists=False)
                continue
            org, owner = ref_id(raw.get("organization")), ref_id(raw.get("owner"))
            if org:
                org_ids.add(org)
            elif owner:
                user_ids.add(owner)
            last_update = next((raw[name] for name in date_fields if raw.get(name)), None)
            infos[(class_name, oid)] = TargetInfo(
                class_name,
                oid,
                title=clean(raw.get("title")),
                slug=raw.get("slug"),
                url=_web_url(model, raw),
                producer_id=org or owner,
                producer_kind="organization" if org else ("user" if owner else None),
                last_update=last_update,
                state=state_of(class_name, raw),
            )

    names: dict[ObjectId, str] = {}
    if org_ids:
        for raw in Organization.objects(id__in=list(org_ids)).only("id", "name").as_pymongo():
            names[raw["_id"]] = raw.get("name")
    if user_ids:
        for raw in (
            User.objects(id__in=list(user_ids)).only("id", "first_name", "last_name").as_pymongo()
        ):
            names[raw["_id"]] = " ".join(
                part for part in (raw.get("first_name"), raw.get("last_name")) if part
            )
    for info in infos.values():
        if info.producer_id is not None:
            info.producer = clean(names.get(info.producer_id))
    return infos
