"""The link sweep against the database: one target in each state, run as the job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest import mock

from bson import ObjectId
from pymongo import UpdateMany, UpdateOne
from udata.core.dataservices.factories import DataserviceFactory
from udata.core.dataset.factories import DatasetFactory, ResourceFactory
from udata.core.reuse.factories import ReuseFactory
from udata.models import Dataset

from tests import OgpDBTestCase
from udata_ogp.factories import CommitmentFactory, CommitmentLinkFactory
from udata_ogp.health import storage, sweep
from udata_ogp.health.rules import reason_code
from udata_ogp.models import Commitment, CommitmentLink
from udata_ogp.tasks import check_links


def now():
    return datetime.now(UTC)


def codes(link):
    return [reason_code(r) for r in link.reasons]


def raw_links():
    return {d["_id"]: d for d in CommitmentLink._get_collection().find({})}


def raw_commitments():
    return {d["_id"]: d for d in Commitment._get_collection().find({})}


def set_last_update(dataset, days_ago: int) -> None:
    # A raw update: no signal, no recompute of last_update by Dataset.clean().
    Dataset.objects(id=dataset.id).update_one(
        set__last_update=datetime.now(UTC) - timedelta(days=days_ago)
    )


class PortalFixture:
    """One commitment linked to one target in each state."""

    def build(self):
        self.commitment = CommitmentFactory()
        c = self.commitment
        links = {}

        def link(name, target, **kwargs):
            links[name] = CommitmentLinkFactory(commitment=c, target=target, **kwargs)

        link("ok", DatasetFactory(nb_resources=1))
        link("archived", DatasetFactory(nb_resources=1, archived=now()))
        link("private", DatasetFactory(nb_resources=1, private=True))
        link("deleted", DatasetFactory(nb_resources=1, deleted=now()))
        hard = DatasetFactory(nb_resources=1)
        link("hard_deleted", hard)
        overdue = DatasetFactory(nb_resources=1, frequency="daily")
        set_last_update(overdue, 10)
        link("overdue", overdue)
        promised = DatasetFactory(nb_resources=1, frequency="annual")
        set_last_update(promised, 60)
        link("overdue_promised", promised, promised_frequency="monthly")
        unavailable = DatasetFactory(
            resources=[
                ResourceFactory(
                    extras={"check:available": False, "check:status": 404, "check:date": now()}
                )
            ]
        )
        link("unavailable", unavailable)
        link("no_resources", DatasetFactory(nb_resources=0))
        link("reuse_deleted", ReuseFactory(deleted=now()), role="contributes")
        link("reuse_archived", ReuseFactory(archived=now()), role="contributes")
        link("reuse_private", ReuseFactory(private=True), role="contributes")
        link("ds_deleted", DataserviceFactory(deleted_at=now()), role="evidence")
        link("ds_archived", DataserviceFactory(archived_at=now()), role="evidence")
        link("ds_private", DataserviceFactory(private=True), role="evidence")
        link("reuse_ok", ReuseFactory(), role="contributes")
        link("ds_ok", DataserviceFactory(), role="evidence")
        # Expected data: no target, nothing to check.
        links["expected"] = CommitmentLink.objects.create(
            commitment=c, plan=c.plan, title="Jeu attendu", role="related"
        )
        hard.delete()
        self.links = links
        return links


EXPECTED = {
    "ok": ("ok", []),
    "archived": ("stale", ["archived"]),
    "private": ("stale", ["private"]),
    "deleted": ("broken", ["deleted"]),
    "hard_deleted": ("gone", ["gone"]),
    "overdue": ("stale", ["overdue"]),
    "overdue_promised": ("stale", ["overdue_promised"]),
    "unavailable": ("broken", ["resources_unavailable", "resource_unavailable"]),
    "no_resources": ("stale", ["no_resources"]),
    "reuse_deleted": ("broken", ["deleted"]),
    "reuse_archived": ("stale", ["archived"]),
    "reuse_private": ("stale", ["private"]),
    "ds_deleted": ("broken", ["deleted"]),
    "ds_archived": ("stale", ["archived"]),
    "ds_private": ("stale", ["private"]),
    "reuse_ok": ("ok", []),
    "ds_ok": ("ok", []),
    "expected": ("unknown", []),
}


class SweepStatesTest(PortalFixture, OgpDBTestCase):
    def test_each_state(self):
        links = self.build()
        summary = check_links.apply().get()
        assert summary["links"] == len(links) - 1  # expected data is not checked
        for name, (health, reason_codes) in EXPECTED.items():
            link = CommitmentLink.objects.get(id=links[name].id)
            assert (link.health, codes(link)) == (health, reason_codes), name
        unavailable = CommitmentLink.objects.get(id=links["unavailable"].id)
        resource_id = Dataset.objects.get(id=unavailable.target_id).resources[0].id
        assert unavailable.reasons[1].startswith(f"resource_unavailable:{resource_id}:404:")

    def test_hard_deleted_link_keeps_snapshot_and_history(self):
        links = self.build()
        check_links.apply().get()
        gone = CommitmentLink.objects.get(id=links["hard_deleted"].id)
        assert gone.snapshot is not None and gone.snapshot.title
        assert gone.health_since is not None and gone.checked_at is not None
        assert gone.first_failure is not None and gone.failure_count >= 1
        assert [e.health_to for e in gone.health_history][-1] == "gone"
        ok = CommitmentLink.objects.get(id=links["ok"].id)
        assert ok.last_ok is not None and ok.failure_count == 0 and ok.first_failure is None
        assert [(e.health_from, e.health_to) for e in ok.health_history] == [("unknown", "ok")]

    def test_rollup(self):
        links = self.build()
        check_links.apply().get()
        commitment = Commitment.objects.get(id=self.commitment.id)
        expected_counts = {}
        for health, _ in EXPECTED.values():
            expected_counts[health] = expected_counts.get(health, 0) + 1
        assert commitment.health_counts == expected_counts
        assert commitment.at_risk is True  # several fulfils links are not ok
        healthy = CommitmentFactory()
        CommitmentLinkFactory(commitment=healthy, target=DatasetFactory(nb_resources=1))
        CommitmentLinkFactory(
            commitment=healthy, target=ReuseFactory(archived=now()), role="related"
        )
        check_links.apply().get()
        healthy.reload()
        assert healthy.health_counts == {"ok": 1, "stale": 1}
        assert healthy.at_risk is False  # only a fulfils link that is not ok counts
        assert len(links) > 0

    def test_second_run_writes_nothing(self):
        self.build()
        first = check_links.apply().get()
        assert first["written"] > 0 and first["commitments_written"] == 1
        before_links, before_commitments = raw_links(), raw_commitments()
        second = check_links.apply().get()
        assert second["written"] == 0
        assert second["commitments_written"] == 0
        assert raw_links() == before_links
        assert raw_commitments() == before_commitments
        assert sweep.last_run("all")["summary"]["written"] == 0

    def test_one_commitment_only(self):
        links = self.build()
        other = CommitmentLinkFactory(target=DatasetFactory(archived=now(), nb_resources=1))
        check_links.apply(kwargs={"commitment": str(other.commitment.pk)}).get()
        assert CommitmentLink.objects.get(id=other.id).health == "stale"
        assert CommitmentLink.objects.get(id=links["archived"].id).health == "unknown"

    def test_history_keeps_the_latest_events(self):
        link = CommitmentLinkFactory(target=DatasetFactory(nb_resources=1))
        t0 = datetime(2026, 1, 1)
        with mock.patch.object(sweep, "HISTORY_KEPT", 3):
            for day in range(5):
                # A soft delete flips the link at once, and so does its undoing.
                deleted = t0 if day % 2 else None
                Dataset.objects(id=link.target_id).update_one(set__deleted=deleted)
                sweep.check_links(now=t0 + timedelta(days=day))
        link.reload()
        assert [(e.health_to, e.at) for e in link.health_history] == [
            ("ok", t0 + timedelta(days=2)),
            ("broken", t0 + timedelta(days=3)),
            ("ok", t0 + timedelta(days=4)),
        ]
        assert link.health_since == t0 + timedelta(days=4)

    def test_hysteresis_then_flip(self):
        link = CommitmentLinkFactory(target=DatasetFactory(nb_resources=1))
        t0 = datetime(2026, 1, 1)
        sweep.check_links(now=t0)
        assert CommitmentLink.objects.get(id=link.id).health == "ok"
        Dataset.objects(id=link.target_id).update_one(set__archived=datetime(2026, 1, 1))
        sweep.check_links(now=t0 + timedelta(days=1))
        link.reload()
        assert (link.health, link.failure_count) == ("ok", 1)
        sweep.check_links(now=t0 + timedelta(days=2))
        link.reload()
        assert (link.health, link.failure_count) == ("ok", 2)
        sweep.check_links(now=t0 + timedelta(days=3))
        link.reload()
        assert link.health == "stale" and link.reasons == ["archived"]
        assert link.health_since == t0 + timedelta(days=3)
        assert link.first_failure == t0 + timedelta(days=1)
        history = [(e.health_from, e.health_to) for e in link.health_history]
        assert history == [("unknown", "ok"), ("ok", "stale")]
        assert sweep.check_links(now=t0 + timedelta(days=4)).written == 0

    def test_fan_out_in_chunks(self):
        self.app.config["OGP_SWEEP_FANOUT"] = 5
        links = self.build()
        summary = check_links.apply().get()
        assert summary["chunks"] == 4  # 17 checkable links in chunks of 5
        for name, (health, reason_codes) in EXPECTED.items():
            link = CommitmentLink.objects.get(id=links[name].id)
            assert (link.health, codes(link)) == (health, reason_codes), name
        assert Commitment.objects.get(id=self.commitment.id).at_risk is True

    def test_small_batches(self):
        self.app.config["OGP_SWEEP_BATCH_SIZE"] = 3
        links = self.build()
        result = sweep.check_links()
        assert result.links == len(links) - 1
        assert result.health["gone"] == 1


def ordered(docs):
    """Raw documents with their field order, which `$set` of new fields decides."""
    return {_id: list(doc.items()) for _id, doc in docs.items()}


class HarvestArchivedTest(OgpDBTestCase):
    def test_sweep_reads_why_the_harvester_archived(self):
        from udata.core.dataservices.models import HarvestDataserviceMetadata as HarvestMetadata
        from udata.core.dataset.models import HarvestDatasetMetadata

        dataset = DatasetFactory(
            nb_resources=1,
            archived=now(),
            harvest=HarvestDatasetMetadata(archived_at=now(), archived_reason="not-on-remote"),
        )
        service = DataserviceFactory(
            archived_at=now(),
            harvest=HarvestMetadata(archived_at=now(), archived_reason="not-on-remote"),
        )
        commitment = CommitmentFactory()
        by_hand = CommitmentLinkFactory(
            commitment=commitment, target=DatasetFactory(nb_resources=1, archived=now())
        )
        links = [
            CommitmentLinkFactory(commitment=commitment, target=dataset),
            CommitmentLinkFactory(commitment=commitment, target=service, role="evidence"),
        ]
        check_links.apply().get()
        for link in links:
            link.reload()
            assert (link.health, link.reasons) == ("stale", ["archived:not-on-remote"])
        by_hand.reload()
        assert by_hand.reasons == ["archived"]


class GroupedWritesTest(OgpDBTestCase):
    """Links changing the same way share `updateMany`s; the stored documents do not change."""

    def build(self):
        ok = [CommitmentLinkFactory(target=DatasetFactory(nb_resources=1)) for _ in range(12)]
        archived = DatasetFactory(nb_resources=1, archived=now())
        stale = [CommitmentLinkFactory(target=archived) for _ in range(3)]
        # Reasons name the resource: each of these updates is unique.
        unique = [
            CommitmentLinkFactory(
                target=DatasetFactory(
                    resources=[
                        ResourceFactory(extras={"check:available": False, "check:status": 404})
                    ]
                )
            )
            for _ in range(2)
        ]
        return ok, stale, unique

    def test_first_sweep_grouped_like_one_by_one(self):
        ok, stale, unique = self.build()
        coll = CommitmentLink._get_collection()
        before = list(coll.find({}))
        t0 = datetime(2026, 3, 1, 12, 30, 15, 123000)

        with mock.patch.object(storage, "GROUP_CHUNK", 5):
            grouped = sweep.check_links(now=t0)
        grouped_docs = raw_links()
        # 12 ok links in chunks of 5, 5, 2; 3 stale ones together; 2 unique updates.
        assert grouped.written == 17
        assert grouped.write_ops == 3 + 1 + 2

        coll.delete_many({})
        coll.insert_many(before)
        with mock.patch.object(storage, "GROUP_CHUNK", 1):
            alone = sweep.check_links(now=t0)
        assert (alone.written, alone.write_ops) == (17, 17)
        assert ordered(raw_links()) == ordered(grouped_docs)

        for link in ok:
            doc = grouped_docs[link.pk]
            assert (doc["health"], doc["reasons"], doc["failure_count"]) == ("ok", [], 0)
            assert doc["health_since"] == doc["last_ok"] == t0
            assert [(e["health_from"], e["health_to"]) for e in doc["health_history"]] == [
                ("unknown", "ok")
            ]
        for link in stale:
            doc = grouped_docs[link.pk]
            assert (doc["health"], doc["reasons"], doc["failure_count"]) == (
                "stale",
                ["archived"],
                1,
            )
            assert len(doc["health_history"]) == 1
        for link in unique:
            assert grouped_docs[link.pk]["health"] == "broken"

        # Steady state: nothing to write, grouped or not.
        with mock.patch.object(storage, "GROUP_CHUNK", 5):
            again = sweep.check_links(now=t0 + timedelta(days=1))
        assert (again.written, again.write_ops) == (0, 0)
        assert ordered(raw_links()) == ordered(grouped_docs)

    def test_default_chunk_groups_the_first_sweep(self):
        self.build()
        result = sweep.check_links()
        assert result.written == 17
        assert (
            result.write_ops == 12 // storage.GROUP_CHUNK + bool(12 % storage.GROUP_CHUNK) + 1 + 2
        )


def test_grouped_updates_compare_exactly():
    t = datetime(2026, 3, 1, 12, 0, 0, 1000)
    base = {"$set": {"health": "ok", "health_since": t}, "$push": {"health_history": {"at": t}}}
    variants = [
        {"$set": {"health": "ok", "health_since": t}, "$push": {"health_history": {"at": t}}},
        # Another microsecond, another type, another key order, another list: not grouped.
        {"$set": {"health": "ok", "health_since": t.replace(microsecond=2000)}},
        {"$set": {"failure_count": 1}},
        {"$set": {"failure_count": 1.0}},
        {"$set": {"failure_count": True}},
        {"$set": {"health_since": t, "health": "ok"}},
        {"$set": {"reasons": ["archived", "private"]}},
        {"$set": {"reasons": ["private", "archived"]}},
    ]
    ids = [ObjectId() for _ in range(5 + len(variants))]
    pairs = [(i, base) for i in ids[:5]] + list(zip(ids[5:], variants, strict=True))
    ops = storage.grouped_updates(pairs, chunk=3)

    seen = []
    for op in ops:
        flt = op._filter["_id"]
        if isinstance(op, UpdateMany):
            assert len(flt["$in"]) > 1 and len(flt["$in"]) <= 3
            seen.extend((i, op._doc) for i in flt["$in"])
        else:
            assert isinstance(op, UpdateOne)
            seen.append((flt, op._doc))
    assert sorted(seen, key=lambda p: ids.index(p[0])) == sorted(
        pairs, key=lambda p: ids.index(p[0])
    )
    # base + its exact copy: 6 ids in chunks of 3; each variant alone.
    assert sum(isinstance(op, UpdateMany) for op in ops) == 2
    assert len(ops) == 2 + len(variants) - 1
    # No grouping asked: one updateOne per id.
    assert len(storage.grouped_updates(pairs, chunk=1)) == len(pairs)
