"""One import of a plan at a time, across processes: a claim document per plan identity.

Two imports of one plan (two API calls, the CLI and the API, two workers) would both find the
plan missing and create it twice, or interleave their commitments. Before reading anything, an
import inserts `{_id: <plan identity>}` into `ogp_import_claim`: the `_id` index is unique on every
MongoDB (no index to create or migrate), so exactly one insert wins and the others answer 409.
A claim carries an expiry, so that an import killed half-way does not block its plan for ever:
an expired claim is taken over with a conditional update, which again only one contender wins.

Status changes look at the claim too (`import_in_progress`): while a plan is imported, its
commitments' statuses are the import's, and a change would be overwritten or undone with it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from flask import current_app
from pymongo.errors import DuplicateKeyError
from udata.i18n import gettext as _

from udata_ogp.errors import Conflict
from udata_ogp.models import ActionPlan

__all__ = ("COLLECTION", "ImportInProgress", "claim", "import_in_progress", "plan_identity")

COLLECTION = "ogp_import_claim"


class ImportInProgress(Conflict):
    """Another import of the same plan holds the claim."""


def plan_identity(country: str, title: str) -> str:
    """The plan as the importer matches it (same country, same title)."""
    return f"{country}\x1f{title}"


def _collection():
    return ActionPlan._get_db()[COLLECTION]


def _now() -> datetime:
    # Naive UTC: what pymongo reads back, so that stored and computed dates compare.
    return datetime.now(UTC).replace(tzinfo=None)


def import_in_progress(plan: ActionPlan) -> bool:
    """Whether a live (unexpired) import claim holds this plan."""
    query = {"_id": plan_identity(plan.country, plan.title), "expires_at": {"$gte": _now()}}
    return _collection().count_documents(query, limit=1) > 0


@contextmanager
def claim(identity: str, *, label: str, by=None) -> Iterator[str]:
    """Hold the import claim of one plan for the block; ImportInProgress when someone does."""
    now = _now()
    token = uuid.uuid4().hex
    ttl = timedelta(seconds=int(current_app.config.get("OGP_IMPORT_CLAIM_SECONDS", 600)))
    fields = {
        "token": token,
        "claimed_at": now,
        "expires_at": now + ttl,
        "by": getattr(by, "id", None),
    }
    collection = _collection()
    try:
        collection.insert_one({"_id": identity, **fields})
    except DuplicateKeyError:
        # Only an expired claim may be taken over; of several contenders, one update matches.
        taken = collection.find_one_and_update(
            {"_id": identity, "expires_at": {"$lt": now}}, {"$set": fields}
        )
        if taken is None:
            raise ImportInProgress(
                _(
                    "Another import of the plan %(plan)s is in progress; try again when it "
                    "is over.",
                    plan=label,
                ),
                field="plan",
            ) from None
    try:
        yield token
    finally:
        # Only our own claim: had it expired and been taken over, it is no longer ours.
        collection.delete_one({"_id": identity, "token": token})
