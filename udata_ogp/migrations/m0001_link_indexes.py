"""Links of the six-index era: drop its indexes and the derived `unique_key` field, then create
the current indexes of the plugin's collections.

Before the change listed in CHANGELOG.md ("Links have three indexes instead of six"), each link
held `unique_key` ("commitment:class:id:role", unique sparse index) and had indexes on
`commitment`, `plan` and `health`. mongoengine never drops an index, and it refuses to load a
document with a field the model no longer declares: such a link broke every page and sweep that
read it.
"""

from __future__ import annotations

from pymongo.database import Database

from udata_ogp.models import ActionPlan, Commitment, CommitmentLink

LINKS = "ogp_commitment_link"
# Written out, not read from the model: this migration must not change when the model does.
OBSOLETE_LINK_INDEXES = ([("unique_key", 1)], [("commitment", 1)], [("plan", 1)], [("health", 1)])


def _keys(info: dict) -> list[tuple[str, object]]:
    # Servers may answer 1.0 for 1.
    return [(name, int(d) if isinstance(d, float) else d) for name, d in info["key"]]


def _index_name(keys: list[tuple[str, object]]) -> str:
    return "_".join(f"{name}_{direction}" for name, direction in keys)


def migrate(db: Database, dry_run: bool) -> list[str]:
    actions = []
    verb = "would " if dry_run else ""
    links = db[LINKS]

    for name, info in sorted(links.index_information().items()):
        if _keys(info) in OBSOLETE_LINK_INDEXES:
            actions.append(f"{verb}drop index {name} of {LINKS}")
            if not dry_run:
                links.drop_index(name)

    old_field = {"unique_key": {"$exists": True}}
    count = links.count_documents(old_field)
    if count:
        actions.append(f"{verb}remove unique_key from {count} links")
        if not dry_run:
            links.update_many(old_field, {"$unset": {"unique_key": ""}})

    for model in (ActionPlan, Commitment, CommitmentLink):
        collection = model._meta["collection"]
        # Compared on the raw collection: the model's own `compare_indexes()` opens the model's
        # collection, which creates its indexes (mongoengine's auto_create_index), a write.
        existing = [_keys(info) for info in db[collection].index_information().values()]
        missing = [keys for keys in model.list_indexes() if list(keys) not in existing]
        for keys in missing:
            actions.append(f"{verb}create index {_index_name(keys)} of {collection}")
        if missing and not dry_run:
            model.ensure_indexes()
    return actions
