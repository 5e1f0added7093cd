"""Opt-in digests of health changes, through udata's mail; never the same notice twice."""

from __future__ import annotations

from datetime import UTC, datetime

from udata.core.dataset.factories import DatasetFactory
from udata.core.organization.factories import OrganizationFactory
from udata.core.user.factories import UserFactory
from udata.models import Dataset
from udata.tests.helpers import capture_mails

from tests import OgpDBTestCase
from udata_ogp.factories import CommitmentFactory, CommitmentLinkFactory
from udata_ogp.health import notices, sweep
from udata_ogp.tasks import send_notices


class NoticesTest(OgpDBTestCase):
    def build(self):
        self.producer = UserFactory()
        self.producer_org = OrganizationFactory(admins=[self.producer])
        self.editor = UserFactory()
        self.editors_org = OrganizationFactory(editors=[self.editor])
        self.commitment = CommitmentFactory(organization=self.editors_org)
        self.dataset = DatasetFactory(nb_resources=1, organization=self.producer_org)
        self.link = CommitmentLinkFactory(commitment=self.commitment, target=self.dataset)
        sweep.check_links()  # first check: ok, no news
        # Raw update: the sweep, not a receiver, sees it.
        Dataset.objects(id=self.dataset.id).update_one(set__deleted=datetime.now(UTC))
        sweep.check_links()

    def test_off_by_default(self):
        self.build()
        with capture_mails() as mails:
            assert send_notices.apply().get()["sent"] == 0
        assert mails == []

    def test_opt_in_only_and_never_twice(self):
        self.app.config["OGP_NOTICES"] = True
        self.build()
        notices.set_opt_in(self.producer_org.id)
        with capture_mails() as mails:
            summary = send_notices.apply().get()
        assert summary["links"] == 1 and summary["sent"] == 1
        assert [m.recipients for m in mails] == [[self.producer.email]]
        assert self.dataset.title in mails[0].body and "deleted" in mails[0].body
        assert self.commitment.title in mails[0].body
        # Nothing changed since: nothing sent.
        with capture_mails() as mails:
            assert send_notices.apply().get()["sent"] == 0
        assert mails == []

    def test_all_concerned_and_next_change(self):
        self.app.config["OGP_NOTICES"] = "all"
        self.build()
        with capture_mails() as mails:
            send_notices.apply().get()
        assert sorted(m.recipients[0] for m in mails) == sorted(
            [self.producer.email, self.editor.email]
        )
        # The dataset comes back: a new change, notified once.
        Dataset.objects(id=self.dataset.id).update_one(set__deleted=None)
        sweep.check_links()
        with capture_mails() as mails:
            assert send_notices.apply().get()["links"] == 1
        assert len(mails) == 2
        assert self.dataset.title in mails[0].body and "deleted" not in mails[0].body
        with capture_mails() as mails:
            send_notices.apply().get()
        assert mails == []

    def test_first_ok_check_is_no_news(self):
        self.app.config["OGP_NOTICES"] = "all"
        CommitmentLinkFactory(target=DatasetFactory(nb_resources=1))
        sweep.check_links()
        assert notices.pending_changes() == []


class NoticesCliTest(OgpDBTestCase):
    def test_opt_in_and_send(self):
        self.app.config["OGP_NOTICES"] = True
        org = OrganizationFactory(admins=[UserFactory()])
        result = self.cli("ogp", "notices", "--opt-in", str(org.id), "--send")
        assert f"{org.id}: opted in" in result.output
        assert notices._opted_in([str(org.id)]) == {str(org.id)}
        self.cli("ogp", "notices", "--opt-out", str(org.id))
        assert notices._opted_in([str(org.id)]) == set()
