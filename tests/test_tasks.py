"""Tag links, immediate re-evaluation on udata signals, and the CLI."""

from __future__ import annotations

from datetime import UTC, datetime

from udata.core.dataservices.factories import DataserviceFactory
from udata.core.dataset.factories import DatasetFactory
from udata.core.jobs.models import PeriodicTask
from udata.core.reuse.factories import ReuseFactory
from udata.models import Dataset, Reuse

from tests import OgpDBTestCase
from udata_ogp.factories import ActionPlanFactory, CommitmentFactory, CommitmentLinkFactory
from udata_ogp.health.sweep import preload_dense
from udata_ogp.health.tagging import parse_tag, sync_tags, tagged_in
from udata_ogp.models import Commitment, CommitmentLink
from udata_ogp.tasks import check_links


def tag_raw(model, obj, tags):
    # Raw write: no signal, as when another tool writes straight to the database.
    model.objects(id=obj.id).update_one(set__tags=tags)


class TagsTest(OgpDBTestCase):
    def setup_commitments(self):
        plan = ActionPlanFactory(title="Plan national 2018-2020")
        self.by_id = CommitmentFactory(plan=plan, number=34, ogp_id="FR0034")
        self.by_slug = CommitmentFactory(plan=plan, number=5)
        return plan

    def test_parse_tag(self):
        assert parse_tag("ogp-fr0034") == ("ogp_id", "FR0034")
        assert parse_tag("ogp-plan-national-2018-2020-5") == (
            "slug",
            ("plan-national-2018-2020", 5),
        )
        assert parse_tag("ogp-") is None
        assert parse_tag("climat") is None

    def test_sweep_creates_and_removes_tag_links(self):
        plan = self.setup_commitments()
        dataset = DatasetFactory(nb_resources=1)
        reuse = ReuseFactory()
        tag_raw(Dataset, dataset, ["ogp-fr0034", "climat", "ogp-fr9999"])
        tag_raw(Reuse, reuse, [f"ogp-{plan.slug}-5", "ogp-nowhere-12"])

        summary = check_links.apply().get()
        tags = summary["tags"]
        assert tags["created"] == 2
        assert sorted(u["tag"] for u in tags["unknown"]) == ["ogp-fr9999", "ogp-nowhere-12"]
        link = CommitmentLink.objects.get(commitment=self.by_id, target_id=dataset.id)
        assert (link.role, link.source, link.health) == ("contributes", "tag", "ok")
        assert link.snapshot.title == dataset.title
        assert (
            CommitmentLink.objects.get(commitment=self.by_slug, target_id=reuse.id).source == "tag"
        )

        # Idempotent: nothing more on a second run.
        assert check_links.apply().get()["tags"]["created"] == 0
        assert CommitmentLink.objects.count() == 2

        # Removing the tag removes that link, and only a tag link.
        manual = CommitmentLinkFactory(commitment=self.by_slug, target=dataset, role="evidence")
        tag_raw(Dataset, dataset, ["climat"])
        summary = check_links.apply().get()
        assert summary["tags"]["removed"] == 1
        assert not CommitmentLink.objects(commitment=self.by_id, target_id=dataset.id).count()
        assert CommitmentLink.objects(id=manual.id).count() == 1

    def test_full_sweep_finds_tags_in_its_own_read_of_the_datasets(self):
        self.setup_commitments()
        linked = DatasetFactory(nb_resources=1)
        CommitmentLinkFactory(commitment=self.by_slug, target=linked)
        tagged = DatasetFactory(nb_resources=1)
        tag_raw(Dataset, tagged, ["ogp-fr0034"])
        preloaded = preload_dense()
        # One link for two datasets: dense, so the sweep reads the datasets whole, tags included.
        assert preloaded["Dataset"][tagged.id]["tags"] == ["ogp-fr0034"]

        result = sync_tags(preloaded=preloaded)
        assert [(c["id"], c["commitment"]) for c in result.created] == [
            (str(tagged.id), str(self.by_id.pk))
        ]
        tag_raw(Dataset, tagged, [])
        assert sync_tags(preloaded=preload_dense()).removed[0]["id"] == str(tagged.id)
        assert CommitmentLink.objects.count() == 1

    def test_one_read_run_checks_new_tag_links_and_rolls_them_up(self):
        self.setup_commitments()
        linked = DatasetFactory(nb_resources=1)
        CommitmentLinkFactory(commitment=self.by_slug, target=linked)
        tagged = DatasetFactory(nb_resources=1)
        tag_raw(Dataset, tagged, ["ogp-fr0034"])
        archived = DatasetFactory(nb_resources=1, archived=datetime.now(UTC))
        tag_raw(Dataset, archived, ["ogp-fr0034"])
        assert tagged_in(preload_dense()) == {("Dataset", tagged.id), ("Dataset", archived.id)}

        summary = check_links.apply().get()
        assert summary["tags"]["created"] == 2
        assert summary["links"] == 3  # the new tag links were checked in the same run
        healths = {
            link.target_id: link.health for link in CommitmentLink.objects(commitment=self.by_id)
        }
        assert healths == {tagged.id: "ok", archived.id: "stale"}
        assert Commitment.objects.get(id=self.by_id.id).health_counts == {"ok": 1, "stale": 1}

        tag_raw(Dataset, archived, [])
        summary = check_links.apply().get()
        assert (summary["tags"]["removed"], summary["links"]) == (1, 3)
        assert Commitment.objects.get(id=self.by_id.id).health_counts == {"ok": 1}

    def test_existing_manual_link_is_not_duplicated(self):
        self.setup_commitments()
        dataset = DatasetFactory(nb_resources=1)
        CommitmentLinkFactory(commitment=self.by_id, target=dataset, role="fulfils")
        tag_raw(Dataset, dataset, ["ogp-fr0034"])
        assert sync_tags().created == []
        assert CommitmentLink.objects.count() == 1

    def test_hidden_target_gets_no_new_link(self):
        self.setup_commitments()
        dataset = DatasetFactory(nb_resources=1, private=True)
        tag_raw(Dataset, dataset, ["ogp-fr0034"])
        result = sync_tags()
        assert result.created == [] and result.skipped[0]["why"] == "hidden"

    def test_hard_deleted_target_keeps_its_tag_link_as_gone(self):
        self.setup_commitments()
        dataset = DatasetFactory(nb_resources=1)
        tag_raw(Dataset, dataset, ["ogp-fr0034"])
        sync_tags()
        dataset.delete()
        summary = check_links.apply().get()
        assert summary["tags"]["removed"] == 0
        assert CommitmentLink.objects.get(target_id=dataset.id).health == "gone"

    def test_tagging_through_udata_links_at_once(self):
        self.setup_commitments()
        dataset = DatasetFactory(nb_resources=1, tags=["ogp-fr0034"])
        link = CommitmentLink.objects.get(target_id=dataset.id)
        assert link.source == "tag" and link.health == "ok"
        dataset.tags = ["autre"]
        dataset.save()
        assert CommitmentLink.objects(target_id=dataset.id).count() == 0


class SignalsTest(OgpDBTestCase):
    def test_dataset_update_reevaluates_its_links(self):
        dataset = DatasetFactory(nb_resources=1)
        link = CommitmentLinkFactory(target=dataset)
        check_links.apply().get()
        assert CommitmentLink.objects.get(id=link.id).health == "ok"
        # An ok link needs the grace period before it leaves ok, except deletion.
        dataset.deleted = datetime.now(UTC)
        dataset.save()
        link.reload()
        assert (link.health, link.reasons) == ("broken", ["deleted"])
        assert Commitment.objects.get(id=link.commitment.id).at_risk is True
        dataset.deleted = None
        dataset.save()
        link.reload()
        assert link.health == "ok"
        assert Commitment.objects.get(id=link.commitment.id).at_risk is False

    def test_archiving_counts_as_a_failure_within_grace(self):
        dataset = DatasetFactory(nb_resources=1)
        link = CommitmentLinkFactory(target=dataset)
        check_links.apply().get()
        dataset.archived = datetime.now(UTC)
        dataset.save()
        link.reload()
        assert (link.health, link.failure_count) == ("ok", 1)
        assert link.first_failure is not None

    def test_hard_delete_reevaluates_without_crash(self):
        dataset = DatasetFactory(nb_resources=1)
        link = CommitmentLinkFactory(target=dataset)
        dataset.delete()
        link.reload()
        assert (link.health, link.reasons) == ("gone", ["gone"])
        assert link.snapshot.title == dataset.title

    def test_unlinked_objects_cost_one_query_and_no_task(self, mocker):
        delay = mocker.patch("udata_ogp.tasks.reevaluate_target.delay")
        DatasetFactory(nb_resources=1).save()
        ReuseFactory().delete()
        DataserviceFactory(private=True).save()
        delay.assert_not_called()

    def test_reuse_and_dataservice_signals(self):
        reuse = ReuseFactory()
        dataservice = DataserviceFactory()
        r_link = CommitmentLinkFactory(target=reuse, role="contributes")
        d_link = CommitmentLinkFactory(target=dataservice, role="evidence")
        reuse.deleted = datetime.now(UTC)
        reuse.save()
        dataservice.delete()
        assert CommitmentLink.objects.get(id=r_link.id).health == "broken"
        assert CommitmentLink.objects.get(id=d_link.id).health == "gone"


class CliTest(OgpDBTestCase):
    def test_check_links(self):
        CommitmentLinkFactory(target=DatasetFactory(nb_resources=1, archived=datetime.now(UTC)))
        CommitmentLinkFactory(target=DatasetFactory(nb_resources=1))
        plan = ActionPlanFactory()
        CommitmentFactory(plan=plan, ogp_id="FR0001")
        tag_raw(Dataset, DatasetFactory(nb_resources=1), ["ogp-fr0999"])
        result = self.cli("ogp", "check-links")
        assert "2 links checked" in result.output
        assert "stale: 1" in result.output and "ok: 1" in result.output
        assert "unknown tag ogp-fr0999" in result.output

    def test_check_links_one_commitment(self):
        link = CommitmentLinkFactory(target=DatasetFactory(nb_resources=1))
        CommitmentLinkFactory(target=DatasetFactory(nb_resources=1))
        result = self.cli("ogp", "check-links", "--commitment", str(link.commitment.pk))
        assert "1 links checked" in result.output
        bad = self.cli("ogp", "check-links", "--commitment", "nope", expect_error=True)
        assert bad.exit_code == 2 and "not a commitment id" in bad.output

    def test_schedule_is_idempotent(self):
        first = self.cli("ogp", "schedule")
        assert "ogp-check-links: 15 2 * * * (created)" in first.output
        assert PeriodicTask.objects.count() == 2
        second = self.cli("ogp", "schedule")
        assert "(created)" not in second.output and "(unchanged)" in second.output
        assert PeriodicTask.objects.count() == 2
        third = self.cli("ogp", "schedule", "--links", "0 * * * *")
        assert "ogp-check-links: 0 * * * * (updated)" in third.output
        assert PeriodicTask.objects.count() == 2
        assert str(PeriodicTask.objects.get(task="ogp-check-links").crontab) == "0 * * * *"
