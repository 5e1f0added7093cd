"""Raw collections and grouped bulk writes, shared by the sweep, the probe, tags and notices.

Below every other module of `udata_ogp.health`: it knows pymongo and nothing of links' rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from bson import ObjectId
from pymongo import UpdateMany, UpdateOne

__all__ = ("GROUP_CHUNK", "bulk_update", "chunks", "grouped_updates", "raw_collection")


class _UpdateOne(UpdateOne):
    """`UpdateOne` that passes `sort` to the bulk builder only when set.

    pymongo ≥ 4.11 always passes `sort=`, which mongomock 4.3's builder does not accept; real
    servers see the same command either way. One code path for every backend.
    """

    def _add_to_bulk(self, bulkobj) -> None:
        kwargs: dict[str, Any] = {"array_filters": self._array_filters, "hint": self._hint}
        if self._collation is not None:
            kwargs["collation"] = self._collation
        if self._sort is not None:
            kwargs["sort"] = self._sort
        bulkobj.add_update(self._filter, self._doc, False, bool(self._upsert), **kwargs)


# Most ids per `updateMany` of identical link updates. SecantusDB's cost is mostly per updated
# document (index upkeep); grouping saves its per-statement part, and its `_id $in` match is
# superlinear in the list. Measured with `bench/sweep.py --group-chunk` (5,000 links): 5 to 20
# ids do best (5.2 s at 10 against 6.2-6.9 s ungrouped; 5.6-6.7 s at 50 and 100); at 20,000
# links 10 gives 20.8-22.4 s against 30.0 s ungrouped. Not measured on MongoDB.
GROUP_CHUNK = 10


def _frozen(value: Any) -> Any:
    """A hashable form of an update document equal only for exactly equal documents.

    Key order is kept (`$set` order decides the order of new fields in the stored document) and
    each scalar is paired with its type, so `1`, `1.0` and `True` differ; datetimes compare to
    the microsecond. Raises `TypeError` on an unhashable scalar (the caller then groups nothing).
    """
    if isinstance(value, Mapping):
        return (dict, tuple((key, _frozen(item)) for key, item in value.items()))
    if isinstance(value, (list, tuple)):
        return (list, tuple(_frozen(item) for item in value))
    hash(value)
    return (type(value), value)


def grouped_updates(
    updates: list[tuple[ObjectId, dict]], chunk: int | None = None
) -> list[UpdateOne | UpdateMany]:
    """The write operations for `(_id, update)` pairs, each `_id` in exactly one of them.

    Ids whose update documents are exactly equal share `updateMany({_id: {$in: ids}})`s of at
    most `chunk` ids (default `GROUP_CHUNK`); an id alone keeps its `updateOne({_id: id})`. Each
    document still receives the very update it would alone, so the order of the operations
    does not matter (an unordered `bulk_write` is fine).
    """
    chunk = GROUP_CHUNK if chunk is None else chunk
    groups: dict[Any, tuple[dict, list[ObjectId]]] = {}
    ops: list[UpdateOne | UpdateMany] = []
    for _id, update in updates:
        try:
            key = _frozen(update) if chunk > 1 else None
        except TypeError:
            key = None
        if key is None:
            ops.append(_UpdateOne({"_id": _id}, update))
        else:
            groups.setdefault(key, (update, []))[1].append(_id)
    for update, ids in groups.values():
        for part in chunks(ids, chunk):
            if len(part) == 1:
                ops.append(_UpdateOne({"_id": part[0]}, update))
            else:
                ops.append(UpdateMany({"_id": {"$in": part}}, update))
    return ops


def raw_collection(model):
    """The pymongo collection of a udata model, without mongoengine's `ensure_indexes`.

    The sweep only reads udata's collections: index management stays udata's business (and a
    worker on a server without text indexes, such as SecantusDB, must not try to create them).
    """
    return model._get_db()[model._get_collection_name()]


def bulk_update(collection, updates: list[tuple[dict, dict]], upsert: bool = False) -> int:
    """One unordered `bulk_write` of `(filter, update)` pairs; returns how many were sent."""
    if not updates:
        return 0
    ops = [_UpdateOne(flt, upd, upsert=upsert) for flt, upd in updates]
    collection.bulk_write(ops, ordered=False)
    return len(updates)


def chunks(items: Iterable, size: int) -> Iterator[list]:
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
