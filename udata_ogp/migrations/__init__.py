"""The plugin's own recorded migrations, run by `udata ogp migrate [--dry-run]`.

udata 17's `udata db migrate` lists only the files of udata's own package
(`udata/db/migrations.py`), so the plugin keeps its steps here and records them itself: one
document per applied migration in `ogp_migration` (`_id` is the migration's id).

A migration is a module of this package named `mNNNN_words.py` (its id is `NNNN_words`), applied
in the order of the names. Its docstring describes it; `migrate(db, dry_run)` does the work on the
raw database and returns what it did, or with `dry_run` what it would do, writing nothing. Each is
idempotent (a run that stopped half-way may be run again) and never changes once released: a later
change of the stored documents gets a new module.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version

from mongoengine.connection import get_db
from pymongo.database import Database

__all__ = (
    "RECORDS",
    "Migration",
    "MigrationError",
    "Outcome",
    "applied",
    "available",
    "pending",
    "run",
)

RECORDS = "ogp_migration"
_MODULE = re.compile(r"m(\d{4}_[a-z0-9_]+)")


@dataclass(frozen=True)
class Migration:
    id: str
    description: str
    migrate: Callable[[Database, bool], list[str]]


@dataclass(frozen=True)
class Outcome:
    migration: Migration
    actions: list[str]


class MigrationError(Exception):
    """A migration raised: it is not recorded; those before it (`done`) are."""

    def __init__(self, migration: Migration, done: list[Outcome], cause: Exception) -> None:
        super().__init__(f"{migration.id}: {type(cause).__name__}: {cause}")
        self.migration = migration
        self.done = done


def available() -> list[Migration]:
    """Every migration of the package, in order."""
    found = []
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        match = _MODULE.fullmatch(module)
        if match is None:
            continue
        loaded = importlib.import_module(f"{__name__}.{module}")
        description = (loaded.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        found.append(Migration(match.group(1), description, loaded.migrate))
    return found


def applied(db: Database | None = None) -> dict[str, datetime]:
    """Ids of the applied migrations, with when."""
    db = get_db() if db is None else db
    return {doc["_id"]: doc.get("applied_at") for doc in db[RECORDS].find({}, {"applied_at": 1})}


def pending(db: Database | None = None) -> list[Migration]:
    db = get_db() if db is None else db
    done = applied(db)
    return [m for m in available() if m.id not in done]


def _plugin_version() -> str | None:
    try:
        return version("udata-ogp")
    except PackageNotFoundError:
        return None


def run(dry_run: bool = False, db: Database | None = None) -> list[Outcome]:
    """Apply the pending migrations in order, recording each once it succeeded.

    With `dry_run`, each pending migration only says what it would do, against the database as it
    is (so a later one may list work that an earlier one would make unnecessary).
    An exception stops the run (`MigrationError`): the migrations before it stay recorded, the
    failing one is not.
    """
    db = get_db() if db is None else db
    outcomes: list[Outcome] = []
    for migration in pending(db):
        try:
            actions = migration.migrate(db, dry_run)
        except Exception as exc:
            raise MigrationError(migration, outcomes, exc) from exc
        if not dry_run:
            db[RECORDS].insert_one(
                {
                    "_id": migration.id,
                    "applied_at": datetime.now(UTC),
                    "version": _plugin_version(),
                    "actions": actions,
                }
            )
        outcomes.append(Outcome(migration, actions))
    return outcomes
