"""`udata ogp migrate`: the plugin's recorded, idempotent migrations of stored documents."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from mongoengine.errors import FieldDoesNotExist, NotUniqueError
from pymongo.errors import DuplicateKeyError
from udata.core.dataset.factories import DatasetFactory

from tests import OgpDBTestCase
from udata_ogp import migrations
from udata_ogp.factories import ActionPlanFactory, CommitmentLinkFactory
from udata_ogp.models import ActionPlan, Commitment, CommitmentLink

OBSOLETE = {
    "unique_key_1": ([("unique_key", 1)], {"unique": True, "sparse": True}),
    "commitment_1": ([("commitment", 1)], {}),
    "plan_1": ([("plan", 1)], {}),
    "health_1": ([("health", 1)], {}),
}
CURRENT_UNIQUE = "commitment_1_target_id_1_target_class_1_role_1"
START = datetime(2020, 1, 1)
IDS = ["0001_link_indexes", "0002_health_history_cap", "0003_unique_plan_slug"]


def _links():
    return CommitmentLink._get_collection()


def _indexes(model) -> dict[str, list]:
    return {
        name: [tuple(k) for k in info["key"]]
        for name, info in model._get_collection().index_information().items()
    }


def _state() -> dict:
    """Everything a migration may write: the plugin's indexes, the links, the records."""
    db = _links().database
    return {
        "indexes": {m.__name__: _indexes(m) for m in (ActionPlan, Commitment, CommitmentLink)},
        "links": sorted(_links().find(), key=lambda d: str(d["_id"])),
        "records": list(db[migrations.RECORDS].find()),
    }


class MigrateTest(OgpDBTestCase):
    @pytest.fixture
    def old_database(self):
        """A database of the six-index era: `unique_key` on each link, its four indexes, and no
        unique index on the fields; one link with a history of 60 health events."""
        dataset = DatasetFactory()
        link = CommitmentLinkFactory(target=dataset)
        expected = CommitmentLinkFactory(
            commitment=link.commitment,
            target=None,
            target_class=None,
            target_id=None,
            title="À venir",
        )
        history = [
            {"at": START + timedelta(days=i), "health_from": "ok", "health_to": "stale"}
            for i in range(60)
        ]
        _links().update_one(
            {"_id": link.id},
            {
                "$set": {
                    "unique_key": f"{link.commitment.pk}:Dataset:{dataset.id}:fulfils",
                    "health_history": history,
                }
            },
        )
        _links().update_one({"_id": expected.id}, {"$set": {"unique_key": None}})
        _links().drop_index(CURRENT_UNIQUE)
        for name, (keys, options) in OBSOLETE.items():
            _links().create_index(keys, name=name, **options)
        yield link
        # Indexes outlive the tests (udata empties collections only): leave today's ones.
        for name in OBSOLETE:
            if name in _indexes(CommitmentLink):
                _links().drop_index(name)
        CommitmentLink.ensure_indexes()

    def test_migrations_are_ordered_with_ids_and_descriptions(self):
        found = migrations.available()
        assert [m.id for m in found] == IDS
        assert all(m.description and callable(m.migrate) for m in found)

    def test_old_links_do_not_load_before_the_migration(self, old_database):
        # Why the migration exists: mongoengine refuses a field the model no longer declares.
        with pytest.raises(FieldDoesNotExist):
            CommitmentLink.objects.get(id=old_database.id)

    def test_dry_run_writes_nothing(self, old_database):
        before = _state()
        result = self.cli("ogp", "migrate", "--dry-run")
        assert _state() == before
        assert before["records"] == []
        out = result.output
        assert "0001_link_indexes: would apply" in out
        for name in OBSOLETE:
            assert f"would drop index {name} of ogp_commitment_link" in out
        assert "would remove unique_key from 2 links" in out
        assert f"would create index {CURRENT_UNIQUE} of ogp_commitment_link" in out
        assert "0002_health_history_cap: would apply" in out
        assert "would keep the latest 50 health events of 1 links" in out
        assert "Dry run: 3 migrations pending, nothing written" in out

    def test_migrate_applies_and_records(self, old_database):
        result = self.cli("ogp", "migrate")
        assert "3 migrations applied" in result.output

        indexes = _indexes(CommitmentLink)
        assert not set(OBSOLETE) & set(indexes)
        assert indexes[CURRENT_UNIQUE] == [
            ("commitment", 1),
            ("target_id", 1),
            ("target_class", 1),
            ("role", 1),
        ]
        assert _links().count_documents({"unique_key": {"$exists": True}}) == 0
        link = CommitmentLink.objects.get(id=old_database.id)
        assert [e.at for e in link.health_history] == [
            START + timedelta(days=i) for i in range(10, 60)
        ]
        # The unique index is the one that now refuses a second identical link.
        with pytest.raises(NotUniqueError):
            CommitmentLink(
                commitment=link.commitment,
                target_class=link.target_class,
                target_id=link.target_id,
                role=link.role,
            ).save()

        records = list(_links().database[migrations.RECORDS].find())
        assert [r["_id"] for r in records] == IDS
        assert all(r["applied_at"] and r["version"] for r in records)
        assert "drop index unique_key_1 of ogp_commitment_link" in records[0]["actions"]

    def test_second_run_is_a_no_op(self, old_database):
        self.cli("ogp", "migrate")
        after_first = _state()
        result = self.cli("ogp", "migrate")
        assert _state() == after_first
        assert "Nothing to migrate (3 migrations already applied)" in result.output
        dry = self.cli("ogp", "migrate", "--dry-run")
        assert "Nothing to migrate" in dry.output

    def test_up_to_date_database_records_migrations_without_changes(self):
        CommitmentLinkFactory()
        before = _state()
        outcomes = migrations.run()
        assert [(o.migration.id, o.actions) for o in outcomes] == [(i, []) for i in IDS]
        assert _state()["links"] == before["links"]
        assert _state()["indexes"] == before["indexes"]

    def test_a_failing_migration_is_not_recorded(self, mocker):
        def broken(db, dry_run):
            raise RuntimeError("disk full")

        found = migrations.available()
        mocker.patch.object(
            migrations,
            "available",
            return_value=[found[0], migrations.Migration("0099_broken", "Breaks.", broken)],
        )
        result = self.cli("ogp", "migrate", expect_error=True)
        assert result.exit_code == 1
        assert "0001_link_indexes: applied" in result.output
        assert "Migration 0099_broken: RuntimeError: disk full: not recorded" in result.output
        assert migrations.applied().keys() == {"0001_link_indexes"}

    def test_dry_run_on_an_empty_database(self):
        # A first install: no collection yet. The dry run plans the indexes and creates nothing.
        client = _links().database.client
        empty = client["udata-ogp-migrate-empty"]
        outcomes = migrations.run(dry_run=True, db=empty)
        actions = [a for o in outcomes for a in o.actions]
        assert f"would create index {CURRENT_UNIQUE} of ogp_commitment_link" in actions
        assert "would create index slug_1 of ogp_action_plan" in actions
        assert empty.list_collection_names() == []


class UniquePlanSlugMigrationTest(OgpDBTestCase):
    @pytest.fixture
    def duplicated_slugs(self):
        """Plans of before the unique slug index: a non-unique one, and a slug taken twice."""
        first, second, third = (ActionPlanFactory() for _ in range(3))
        plans = ActionPlan._get_collection()
        plans.drop_index("slug_1")
        plans.create_index([("slug", 1)])
        for plan, slug in ((first, "plan"), (second, "plan"), (third, "plan-1")):
            plans.update_one({"_id": plan.id}, {"$set": {"slug": slug}})
        yield first, second, third
        plans.delete_many({})  # udata empties collections after the test, not their indexes
        plans.drop_index("slug_1")
        ActionPlan.ensure_indexes()

    def test_renames_duplicates_and_makes_the_index_unique(self, duplicated_slugs):
        first, second, third = duplicated_slugs
        plans = ActionPlan._get_collection()
        migration = next(m for m in migrations.available() if m.id == "0003_unique_plan_slug")
        dry = migration.migrate(plans.database, True)
        assert dry == [
            f"would rename plan {second.id} from slug plan to plan-2",
            "would replace index slug_1 of ogp_action_plan by a unique one",
        ]
        assert not plans.index_information()["slug_1"].get("unique")

        assert migration.migrate(plans.database, False) == [a[6:] for a in dry]
        slugs = {doc["_id"]: doc["slug"] for doc in plans.find()}
        assert slugs == {first.id: "plan", second.id: "plan-2", third.id: "plan-1"}
        assert plans.index_information()["slug_1"]["unique"]
        assert migration.migrate(plans.database, False) == []  # idempotent
        with pytest.raises(DuplicateKeyError):
            plans.insert_one({"country": "FR", "title": "Other", "slug": "plan"})
