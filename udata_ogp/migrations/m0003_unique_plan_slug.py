"""Make the action plans' slug index unique, renaming the later plans of any duplicated slug.

Since the change listed in CHANGELOG.md ("Two plans can no longer share a slug"), the model
declares a unique slug index. mongoengine never changes an existing index: with the old
non-unique `slug_1` in place, creating the new one fails, and so does every read of the plans
until this migration ran. Duplicated slugs (only a race of two creations made them) keep their
oldest plan; the others get the first free `-N` suffix, which is what udata's slug field would
have given them.
"""

from __future__ import annotations

from pymongo.database import Database

PLANS = "ogp_action_plan"
# Written out, not read from the model: this migration must not change when the model does.
SLUG_KEY = [("slug", 1)]


def _keys(info: dict) -> list[tuple[str, object]]:
    return [(name, int(d) if isinstance(d, float) else d) for name, d in info["key"]]


def _free_slug(taken: set[str], slug: str) -> str:
    index = 1
    while f"{slug}-{index}" in taken:
        index += 1
    return f"{slug}-{index}"


def migrate(db: Database, dry_run: bool) -> list[str]:
    actions = []
    verb = "would " if dry_run else ""
    plans = db[PLANS]

    taken = {doc["slug"] for doc in plans.find({"slug": {"$type": "string"}}, {"slug": 1})}
    seen: set[str] = set()
    for doc in plans.find({"slug": {"$type": "string"}}, {"slug": 1}).sort("_id", 1):
        slug = doc["slug"]
        if slug not in seen:
            seen.add(slug)
            continue
        new = _free_slug(taken, slug)
        taken.add(new)
        actions.append(f"{verb}rename plan {doc['_id']} from slug {slug} to {new}")
        if not dry_run:
            plans.update_one({"_id": doc["_id"]}, {"$set": {"slug": new}})

    for name, info in sorted(plans.index_information().items()):
        if _keys(info) == SLUG_KEY and not info.get("unique"):
            actions.append(f"{verb}replace index {name} of {PLANS} by a unique one")
            if not dry_run:
                plans.drop_index(name)
                plans.create_index(SLUG_KEY, unique=True)
    return actions
