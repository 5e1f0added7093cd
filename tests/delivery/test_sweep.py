"""The delivery sweep against the database: one deliverable in each state."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import monitoring
from udata.core.dataset.factories import DatasetFactory, LicenseFactory, ResourceFactory
from udata.core.organization.factories import OrganizationFactory
from udata.models import Dataset

from tests import OgpDBTestCase
from udata_ogp.delivery import sweep
from udata_ogp.factories import CommitmentFactory, CommitmentLinkFactory, DeliverableFactory
from udata_ogp.models import Commitment, Deliverable, DeliverableRules
from udata_ogp.tasks import check_links


def utc(days: float = 0) -> datetime:
    return datetime.now(UTC).replace(tzinfo=None) + timedelta(days=days)


def due_in(days: int) -> str:
    return utc(days).date().isoformat()


def raw(model):
    return {d["_id"]: d for d in model._get_collection().find({})}


class Counter_(monitoring.CommandListener):
    def __init__(self) -> None:
        self.enabled = False
        self.names: list[str] = []

    def started(self, event) -> None:
        if self.enabled and event.command_name not in ("endSessions", "hello", "isMaster"):
            self.names.append(event.command_name)

    def succeeded(self, event) -> None:
        pass

    def failed(self, event) -> None:
        pass


COUNTER = Counter_()
if os.environ.get("OGP_TEST_DB_URL"):
    monitoring.register(COUNTER)


def count(func) -> tuple[int, list[str]]:
    COUNTER.names = []
    COUNTER.enabled = True
    try:
        func()
    finally:
        COUNTER.enabled = False
    return len(COUNTER.names), list(COUNTER.names)


class DeliveryFixture:
    def build(self):
        self.org = OrganizationFactory()
        self.license = LicenseFactory(flags=["okd_compliant"])
        self.commitment = CommitmentFactory(status="complete")
        c, org = self.commitment, self.org

        def rules(**kw):
            return DeliverableRules(organizations=[str(org.id)], **kw)

        def deliverable(name, **kw):
            self.d[name] = DeliverableFactory(commitment=c, title=name, **kw)

        self.d = {}
        resource = ResourceFactory(
            format="csv", extras={"analysis:checksum": "abc123"}, url="https://x.fr/dvf.csv"
        )
        self.dvf = DatasetFactory(
            organization=org, tags=["dvf"], license=self.license, resources=[resource]
        )
        deliverable("met", target=None, rules=rules(tags=["dvf"], open_license=True))
        deliverable("target", target=DatasetFactory(organization=org, nb_resources=1))
        deliverable("pending", target=None, rules=rules(tags=["nothing"]), due=due_in(400))
        deliverable("no_due", target=None, rules=rules(tags=["nothing"]))
        deliverable("due_soon", target=None, rules=rules(tags=["nothing"]), due=due_in(20))
        deliverable("breached", target=None, rules=rules(tags=["nothing"]), due="2019")
        stale = DatasetFactory(organization=org, tags=["stale"], frequency="daily", nb_resources=1)
        Dataset.objects(id=stale.id).update_one(set__last_update=utc(-20))
        deliverable("stale", target=None, rules=rules(tags=["stale"]))
        self.private = DatasetFactory(
            organization=org, tags=["secret"], private=True, nb_resources=1
        )
        deliverable("private", target=None, rules=rules(tags=["secret"]))
        deliverable("private_target", target=self.private)
        self.hard = DatasetFactory(organization=org, tags=["hard"], nb_resources=1)
        deliverable("hard", target=None, rules=rules(tags=["hard"]))
        return self.d

    def get(self, name):
        return Deliverable.objects.get(id=self.d[name].id)


class DeliverySweepTest(DeliveryFixture, OgpDBTestCase):
    def test_each_state(self):
        self.build()
        assert self.get("met").state == "unknown"  # before any sweep
        summary = check_links.apply().get()
        assert summary["deliveries"]["deliverables"] == len(self.d)
        expected = {
            "met": ("met", []),
            "target": ("met", []),
            "pending": ("pending", []),
            "no_due": ("pending", []),
            "due_soon": ("at_risk", ["due_soon"]),
            "breached": ("breached", ["due_passed"]),
            "stale": ("at_risk", ["stale_matches"]),
            "private": ("pending", []),
            "private_target": ("pending", []),
            "hard": ("met", []),
        }
        for name, (state, reasons) in expected.items():
            d = self.get(name)
            assert (d.state, d.reasons) == (state, reasons), name
            assert [(e.state_from, e.state_to, e.reasons) for e in d.history] == [
                ("unknown", state, reasons)
            ], name
        met = self.get("met")
        assert [m.target_id for m in met.matches] == [self.dvf.id]
        assert met.matches[0].snapshot.organization == self.org.name
        assert met.delivered_at is not None and met.proof.at == met.delivered_at
        item = met.proof.items[0]
        assert (item.target_id, item.snapshot.title, item.license) == (
            self.dvf.id,
            self.dvf.title,
            self.license.id,
        )
        assert (item.resources[0].url, item.resources[0].checksum) == (
            "https://x.fr/dvf.csv",
            "abc123",
        )
        assert met.history[0].proof.items[0].target_id == self.dvf.id
        assert self.get("stale").matches[0].reasons == ["overdue"]
        assert self.get("private").matches == [] and self.get("pending").proof is None
        commitment = Commitment.objects.get(id=self.commitment.id)
        v = commitment.verification
        assert (v["deliverables"], v["met"], v["breached"], v["at_risk"]) == (10, 3, 1, 2)
        assert (v["summary"], v["discrepancy"]) == ("breached", "claimed_not_verified")

    def test_second_sweep_writes_nothing(self):
        self.build()
        first = sweep.check_deliverables()
        assert first.written == len(self.d) and first.commitments_written >= 1
        before = raw(Deliverable), raw(Commitment)
        second = sweep.check_deliverables()
        assert (second.written, second.commitments_written) == (0, 0)
        assert (raw(Deliverable), raw(Commitment)) == before

    def test_hard_deleted_keeps_proof_then_redelivery(self):
        self.build()
        sweep.check_deliverables()
        self.hard.delete()  # hard delete: the document is gone
        assert Dataset.objects(id=self.hard.id).first() is None
        sweep.check_deliverables()
        d = self.get("hard")
        assert (d.state, d.reasons) == ("breached", ["withdrawn", "gone"])
        assert d.proof.items[0].snapshot.title == self.hard.title
        assert d.matches == []
        again = DatasetFactory(organization=self.org, tags=["hard"], nb_resources=1)
        sweep.check_deliverables()
        d = self.get("hard")
        assert d.state == "met" and d.proof.items[0].target_id == again.id
        proofs = [e.proof.items[0].target_id for e in d.history if e.proof]
        assert proofs == [self.hard.id, again.id]
        assert [(e.state_from, e.state_to) for e in d.history] == [
            ("unknown", "met"),
            ("met", "breached"),
            ("breached", "met"),
        ]

    def test_made_private_withdraws_at_once_and_rules_wait(self):
        self.build()
        sweep.check_deliverables()
        Dataset.objects(id=self.dvf.id).update_one(set__tags=["other"])
        now = utc()
        sweep.check_deliverables(now=now + timedelta(days=1))
        d = self.get("met")
        assert (d.state, d.failure_count) == ("met", 1) and d.matches  # waits
        target = self.get("target")
        Dataset.objects(id=target.target_id).update_one(set__private=True)
        sweep.check_deliverables(now=now + timedelta(days=2))
        target = self.get("target")
        assert (target.state, target.reasons) == ("breached", ["withdrawn", "private"])
        sweep.check_deliverables(now=now + timedelta(days=4))
        d = self.get("met")
        assert (d.state, d.reasons) == ("breached", ["withdrawn", "rules"])

    def test_verified_beyond_claim(self):
        commitment = CommitmentFactory(status="limited")
        DeliverableFactory(commitment=commitment, target=DatasetFactory(nb_resources=1))
        empty = CommitmentFactory(status="complete")
        sweep.check_deliverables()
        v = Commitment.objects.get(id=commitment.id).verification
        assert (v["summary"], v["discrepancy"]) == ("verified", "verified_beyond_claim")
        v = Commitment.objects.get(id=empty.id).verification
        assert (v["summary"], v["discrepancy"], v["deliverables"]) == ("none", None, 0)

    def test_one_commitment_and_one_target(self):
        self.build()
        other = DeliverableFactory(target=DatasetFactory(nb_resources=1))
        result = sweep.check_deliverables(commitment=other.commitment)
        assert result.deliverables == 1 and self.get("met").state == "unknown"
        from udata_ogp.tasks import reevaluate_target

        summary = reevaluate_target.apply(args=("Dataset", str(self.dvf.id))).get()
        # The deliverables whose rules name its organisation (8); not the ones with targets.
        assert summary["deliveries"]["deliverables"] == 8
        assert self.get("met").state == "met" and self.get("target").state == "unknown"


def build_many(n: int, orgs, tags) -> None:
    commitment = CommitmentFactory()
    for i in range(n):
        rules = DeliverableRules(organizations=[str(orgs[i % len(orgs)].id)], tags=[tags[i % 3]])
        DeliverableFactory(commitment=commitment, target=None, rules=rules)


class SharedReadTest(DeliveryFixture, OgpDBTestCase):
    """The nightly job: when the link sweep reads the datasets whole, the delivery sweep reads
    them from there (no query of its own) and finds exactly what its own reads find."""

    def dense(self) -> None:
        for dataset in Dataset.objects:
            CommitmentLinkFactory(commitment=self.commitment, target=dataset)

    def no_dataset_read(self, monkeypatch) -> None:
        def refused(*args, **kwargs):
            raise AssertionError("the delivery sweep read datasets itself")

        monkeypatch.setattr(sweep, "_read", refused)
        monkeypatch.setattr(sweep, "candidate_query", refused)

    def verdicts(self) -> dict:
        fields = ("state", "reasons", "matches", "matches_digest", "proof", "delivered_at")
        return {
            name: {f: d.get(f) for f in fields}
            for name, d in ((n, raw(Deliverable)[self.d[n].id]) for n in self.d)
        }

    def test_the_same_verdicts_without_a_read_of_its_own(self, monkeypatch):
        self.build()
        self.dense()
        now = utc()
        sweep.check_deliverables(now=now)
        own = self.verdicts()
        Deliverable.objects.update(
            set__state="unknown",
            set__matches=[],
            set__history=[],
            unset__proof=True,
            unset__delivered_at=True,
            unset__state_since=True,
            unset__matches_digest=True,
        )
        self.no_dataset_read(monkeypatch)

        links, deliveries = sweep.run_with_links(now=now)

        assert links.links == Dataset.objects.count() and deliveries.deliverables == len(self.d)
        assert links.preloaded == {}  # not kept in the job's result
        assert self.verdicts() == own
        assert own["met"]["state"] == "met" and own["private"]["matches"] == []

        # A match hard-deleted since: absent from a collection read whole means gone.
        self.hard.delete()
        sweep.run_with_links(now=now + timedelta(seconds=1))
        assert (self.get("hard").state, self.get("hard").reasons) == (
            "breached",
            ["withdrawn", "gone"],
        )

    def test_without_deliverables_the_link_sweep_reads_only_its_own_fields(self, monkeypatch):
        from udata_ogp.health import sweep as health

        self.build()
        self.dense()
        Deliverable.objects.delete()
        seen = []
        original = health.preload_dense

        def spy(extra_fields=None):
            seen.append(extra_fields)
            return original(extra_fields)

        monkeypatch.setattr(health, "preload_dense", spy)
        monkeypatch.setattr("udata_ogp.health.linkcheck.preload_dense", spy)
        sweep.run_with_links()
        Deliverable(
            commitment=self.commitment, title="x", rules=DeliverableRules(tags=["a"])
        ).save()
        sweep.run_with_links()
        assert seen == [None, sweep.OBJECT_FIELDS]

    def test_merged_projection_has_no_path_collision(self):
        from udata_ogp.health.sweep import TARGET_FIELDS, merged_fields

        merged = merged_fields(TARGET_FIELDS["Dataset"], sweep.OBJECT_FIELDS["Dataset"])
        assert "resources.extras" in merged
        assert "resources.extras.analysis:checksum" not in merged
        assert {"title", "license", "resources.url", "resources.schema.name"} <= set(merged)
        assert merged_fields({"a.b": 1}, {"a": 1}, None) == {"a": 1}


@pytest.mark.skipif(
    not os.environ.get("OGP_TEST_DB_URL"),
    reason="mongomock sends no command events: run with OGP_TEST_DB=secantus",
)
class DeliveryCommandsTest(OgpDBTestCase):
    def test_commands_do_not_grow_with_deliverables(self):
        orgs = [OrganizationFactory() for _ in range(3)]
        tags = ["tag-a", "tag-b", "tag-c"]
        for org in orgs:
            for tag in tags:
                DatasetFactory(organization=org, tags=[tag], nb_resources=1)
        results = {}
        for n in (5, 50):
            Deliverable.objects.delete()
            build_many(n, orgs, tags)
            first = count(sweep.check_deliverables)
            steady = count(sweep.check_deliverables)
            results[n] = first, steady
            print(n, first, steady)
        assert results[5][0][0] == results[50][0][0], results
        assert results[5][1][0] == results[50][1][0], results
        # Steady state: reads only, no write.
        assert "update" not in results[50][1][1]


class DeliveryJobTest(OgpDBTestCase):
    def test_job_and_run_record(self):
        from udata_ogp.health.sweep import last_run
        from udata_ogp.tasks import check_deliverables

        deliverable = DeliverableFactory(target=DatasetFactory(nb_resources=1))
        summary = check_deliverables.apply().get()
        assert summary["states"] == {"met": 1} and summary["written"] == 1
        assert last_run("deliveries")["summary"]["states"] == {"met": 1}
        assert Deliverable.objects.get(id=deliverable.id).state == "met"
