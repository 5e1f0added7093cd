from flask import url_for
from udata.core.dataset.factories import DatasetFactory

from udata_ogp.models import ActionPlan, Commitment, CommitmentLink

from . import OgpAPITestCase, OgpDBTestCase


class ModelSmokeTest(OgpDBTestCase):
    def test_save_plan_commitment_link(self):
        plan = ActionPlan.objects.create(country="FR", title="Plan d'action 2018-2020")
        commitment = Commitment.objects.create(plan=plan, number=5, title="Désigner des AMD")
        dataset = DatasetFactory()
        link = CommitmentLink.objects.create(
            commitment=commitment, target_class="Dataset", target_id=dataset.id, role="fulfils"
        )
        assert link.plan == plan
        assert CommitmentLink.objects.for_target("Dataset", dataset.id).count() == 1
        assert plan.slug == "plan-daction-2018-2020"


class PluginWiringTest(OgpAPITestCase):
    def test_pages_blueprint_is_registered(self):
        response = self.client.get(url_for("ogp.index"))
        assert response.status_code == 200


class FactoriesTest(OgpDBTestCase):
    def test_link_factory_snapshots_its_dataset(self):
        from udata_ogp.factories import CommitmentLinkFactory

        link = CommitmentLinkFactory()
        assert link.target_class == "Dataset"
        assert link.snapshot.title
        assert link.plan == link.commitment.plan
