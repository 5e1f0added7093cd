"""Keep each link's latest 50 health events, as the sweep now does.

Since the change listed in CHANGELOG.md ("A link's health history keeps its latest 50 events"),
the sweep appends with `$push` and `$slice`; links written before it may hold longer histories.
"""

from __future__ import annotations

from pymongo.database import Database

LINKS = "ogp_commitment_link"
# Written out, not imported from the sweep: this migration must not change when the sweep does.
KEPT = 50


def migrate(db: Database, dry_run: bool) -> list[str]:
    longer = {f"health_history.{KEPT}": {"$exists": True}}
    count = db[LINKS].count_documents(longer)
    if not count:
        return []
    if not dry_run:
        db[LINKS].update_many(longer, {"$push": {"health_history": {"$each": [], "$slice": -KEPT}}})
    return [f"{'would ' if dry_run else ''}keep the latest {KEPT} health events of {count} links"]
