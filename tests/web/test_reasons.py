"""Why a link is flagged, as the commitment page says it: every reason code the sweep writes
has a label in both languages, and udata's harvester is not blamed on the producer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from udata.core.dataset.factories import DatasetFactory
from udata.core.dataset.models import HarvestDatasetMetadata

from tests import OgpAPITestCase
from udata_ogp.factories import CommitmentFactory, CommitmentLinkFactory
from udata_ogp.health.rules import REASON_HEALTH
from udata_ogp.tasks import check_links
from udata_ogp.web.blueprint import REASON_LABELS

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_every_reason_code_has_a_label():
    assert set(REASON_HEALTH) <= set(REASON_LABELS)


class HarvestReasonPageTest(OgpAPITestCase):
    @pytest.mark.parametrize(
        "lang, harvested, by_hand",
        [
            (
                "fr",
                "archivé : sa source moissonnée ne le publie plus",
                "archivé par son producteur",
            ),
            (
                "en",
                "archived: its harvested source no longer publishes it",
                "archived by its producer",
            ),
        ],
    )
    def test_commitment_page_names_the_harvester(self, lang, harvested, by_hand):
        now = datetime.now(UTC)
        commitment = CommitmentFactory()
        gone_from_source = DatasetFactory(
            nb_resources=1,
            archived=now,
            harvest=HarvestDatasetMetadata(archived_at=now, archived_reason="not-on-remote"),
        )
        CommitmentLinkFactory(commitment=commitment, target=gone_from_source)
        check_links.apply().get()
        html = self.client.get(
            f"/ogp/commitments/{commitment.slug}/?lang={lang}", headers=BROWSER
        ).data.decode()
        assert harvested in html
        assert by_hand not in html


class DeliverableReasonsTest(OgpAPITestCase):
    @pytest.mark.parametrize("lang", ["fr", "en"])
    def test_every_deliverable_reason_code_is_worded(self, app, lang):
        """The page never shows a deliverable's reason as its raw code (`stale_matches` was)."""
        from flask_babel import force_locale

        from udata_ogp.delivery.rules import REASON_CODES
        from udata_ogp.web.rows import delivery_reasons

        with app.test_request_context(), force_locale(lang):
            for code in REASON_CODES:
                assert delivery_reasons([code]) not in ("", code), code
