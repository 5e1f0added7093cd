"""Deliverables on the public pages and in the feed (issue 12): states in words, matches and
proofs under the links' visibility rule, verification beside the claims, filters and feed.

The deliverables are written with the fields the delivery sweep fills (state, matches, proof,
history, `Commitment.verification`): no sweep runs here.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from markupsafe import escape
from udata.core.dataset.factories import DatasetFactory, LicenseFactory
from udata.core.user.factories import UserFactory
from udata.models import Dataset

from tests import OgpAPITestCase
from tests.web.test_pages import BROWSER_HEADERS, build_france_plan, check_accessibility
from tests.web.test_pages_filters import select_options
from udata_ogp.models import (
    Commitment,
    Deliverable,
    DeliverableEvent,
    DeliverableRules,
    DeliveryMatch,
    LinkSnapshot,
    Proof,
    ProofItem,
    ProofResource,
)

MET = "Les données de valeurs foncières"
MET_EN = "Land value data"
PENDING = "Le répertoire des administrateurs des données"
AT_RISK = "La cartographie des données des ministères"
BREACHED = "Les feuilles de route ministérielles"
WITHDRAWN = "Les données hospitalières"
UNKNOWN = "Les inventaires des données"
PRIVATE = "Brouillon des valeurs foncières 2019"
PURGED = "Données hospitalières COVID-19 (archive)"
CHECKSUM = "sha1:5e4f1d2c"


def snapshot_of(dataset, public: bool = True) -> LinkSnapshot:
    org = dataset.organization
    return LinkSnapshot(
        title=dataset.title,
        slug=dataset.slug,
        organization=org.name if org else None,
        organization_id=str(org.id) if org else None,
        public=public,
    )


def proof_of(at: datetime, *datasets, public: bool = True) -> Proof:
    return Proof(
        at=at,
        items=[
            ProofItem(
                target_class="Dataset",
                target_id=dataset.id,
                snapshot=snapshot_of(dataset, public),
                license="lov2",
                last_update=at - timedelta(days=2),
                resources=[
                    ProofResource(
                        url=f"https://static.data.gouv.fr/{dataset.slug}.csv",
                        title=f"{dataset.slug}.csv",
                        format="csv",
                        checksum=CHECKSUM,
                    )
                ],
            )
            for dataset in datasets
        ],
    )


def match_of(dataset, reasons=()) -> DeliveryMatch:
    return DeliveryMatch(
        target_class="Dataset",
        target_id=dataset.id,
        snapshot=snapshot_of(dataset),
        reasons=list(reasons),
    )


def add_deliverables(data: dict) -> dict:
    """On commitment 5, one deliverable in each state (met with proof, pending, at risk, breached,
    withdrawn after delivery, unknown), a private match and a purged dataset's proof."""
    c5, dgfip, etalab, dvf = data["c5"], data["dgfip"], data["etalab"], data["dvf"]
    now = datetime.now(UTC).replace(microsecond=0)
    delivered = datetime(2019, 3, 12, 9, 30, tzinfo=UTC)
    private = DatasetFactory(title=PRIVATE, organization=dgfip, private=True)
    LicenseFactory(id="lov2", title="Licence Ouverte / Open Licence version 2.0")
    purged = DatasetFactory(title=PURGED, organization=etalab)

    def make(title, **fields):
        deliverable = Deliverable(commitment=c5, plan=c5.plan, title=title, **fields)
        deliverable.save()
        return deliverable

    met = make(
        MET,
        title_en=MET_EN,
        milestone="5.1",
        due="2019-06-30",
        rules=DeliverableRules(
            organizations=[str(dgfip.id)], tags=["dvf"], schema="etalab/dvf", open_license=True
        ),
        state="met",
        state_since=delivered,
        delivered_at=delivered,
        matches=[match_of(dvf), match_of(private)],
        proof=proof_of(delivered, dvf),
        history=[
            DeliverableEvent(
                at=delivered,
                state_from="pending",
                state_to="met",
                proof=proof_of(delivered, dvf),
            )
        ],
    )
    pending = make(
        PENDING,
        due="2099-12",
        rules=DeliverableRules(tags=["ogp-fr0034"]),
        state="pending",
        state_since=now - timedelta(days=10),
    )
    at_risk = make(
        AT_RISK,
        due=(now + timedelta(days=20)).date().isoformat(),
        target_class="Dataset",
        target_id=data["dpe"].id,
        state="at_risk",
        state_since=now - timedelta(days=5),
        reasons=["due_soon"],
    )
    breached = make(
        BREACHED,
        due="2019",
        rules=DeliverableRules(organizations=[str(etalab.id)], formats=["pdf"]),
        state="breached",
        state_since=datetime(2020, 1, 1, tzinfo=UTC),
        reasons=["due_passed"],
        history=[
            DeliverableEvent(
                at=datetime(2020, 1, 1, tzinfo=UTC),
                state_from="pending",
                state_to="breached",
                reasons=["due_passed"],
            )
        ],
    )
    withdrawn_at = datetime(2021, 2, 3, tzinfo=UTC)
    withdrawn = make(
        WITHDRAWN,
        rules=DeliverableRules(organizations=[str(etalab.id)], tags=["covid"]),
        state="breached",
        state_since=withdrawn_at,
        reasons=["withdrawn"],
        delivered_at=datetime(2020, 4, 1, tzinfo=UTC),
        proof=proof_of(datetime(2020, 4, 1, tzinfo=UTC), purged),
        history=[
            DeliverableEvent(
                at=datetime(2020, 4, 1, tzinfo=UTC),
                state_from="pending",
                state_to="met",
                proof=proof_of(datetime(2020, 4, 1, tzinfo=UTC), purged),
            ),
            DeliverableEvent(
                at=withdrawn_at, state_from="met", state_to="breached", reasons=["withdrawn"]
            ),
        ],
    )
    unknown = make(UNKNOWN, rules=DeliverableRules(schema="etalab/inventaire"))
    # Hard-deleted behind the plugin's back (`purge-datasets`): only the proof remembers it.
    Dataset._get_collection().delete_one({"_id": purged.id})
    Commitment.objects(id=c5.id).update_one(
        set__verification={
            "deliverables": 6,
            "met": 1,
            "pending": 1,
            "at_risk": 1,
            "breached": 2,
            "unknown": 1,
            "summary": "breached",
            "discrepancy": "claimed_not_verified",
        }
    )
    c5.reload()
    return {
        **data,
        "met": met,
        "pending": pending,
        "at_risk": at_risk,
        "breached": breached,
        "withdrawn": withdrawn,
        "unknown": unknown,
        "private": private,
        "purged": purged,
    }


def build_delivery_plan() -> dict:
    return add_deliverables(build_france_plan())


class DeliverablesPageTest(OgpAPITestCase):
    @pytest.fixture(autouse=True)
    def _content(self, app):
        self.data = build_delivery_plan()
        self.url = f"/ogp/commitments/{self.data['c5'].slug}/"

    def page(self, lang: str = "fr", url: str | None = None) -> str:
        response = self.client.get(f"{url or self.url}?lang={lang}", headers=BROWSER_HEADERS)
        assert response.status_code == 200, response.data[:2000]
        html = response.data.decode()
        check_accessibility(html, lang)
        return html

    def section(self, html: str) -> str:
        match = re.search(r'<section id="deliverables".*?</section>', html, re.S)
        assert match
        return match.group(0)

    def test_each_state_in_french(self):
        html = self.page()
        section = self.section(html)
        for title in (MET, PENDING, AT_RISK, BREACHED, WITHDRAWN, UNKNOWN):
            assert title in section
        assert "Livré le 12 mars 2019, vérifié par les données du portail" in section
        assert "Pas encore dû : promis pour 2099-12" in section
        assert "À risque : promis pour le" in section
        assert "En retard : la date promise (2019) est passée" in section
        assert "Retiré le 3 février 2021 : les données qui le livraient ont disparu" in section
        assert "Pas encore vérifié" in section
        # Badges, milestone, due date, rules in plain words.
        for badge in ("Livré", "Pas encore dû", "À risque", "Non livré", "Retiré"):
            assert f">{badge}</span>" in section, badge
        assert "5.1 — " in section and "30 juin 2019" in section
        dgfip = escape(self.data["dgfip"].name)
        assert f'Tout jeu de données publié par <span lang="fr">{dgfip}</span> portant' in section
        assert "Tout jeu de données portant le mot-clé « ogp-fr0034 »" in section
        assert "portant le mot-clé « dvf », au schéma « etalab/dvf », sous licence ouverte" in (
            section
        )
        assert "avec une ressource au format PDF" in section
        # The proof: licence, last update, resources with format and checksum.
        assert "Preuve de livraison" in section and CHECKSUM in section and "CSV" in section
        assert "Licence Ouverte / Open Licence version 2.0" in section
        # History, newest first.
        withdrawn = section[section.index(WITHDRAWN) :]
        assert withdrawn.index("3 février 2021") < withdrawn.index("1 avril 2020")
        # Verification beside the claim.
        assert "1 livrable sur 6 vérifié par les données" in html
        assert "Déclaré achevé, mais non vérifié par les données" in html

    def test_each_state_in_english(self):
        section = self.section(self.page("en"))
        assert MET_EN in section
        assert "Delivered on March 12, 2019, verified by the portal’s data" in section
        assert "Not yet due: promised for 2099-12" in section
        assert "At risk: promised for" in section
        assert "Overdue: the promised date (2019) has passed" in section
        assert "Withdrawn on February 3, 2021: the data that delivered it is gone" in section
        assert "Not verified yet" in section
        assert "tagged “dvf”, with the schema “etalab/dvf”, under an open licence" in section
        assert "Any dataset with the schema “etalab/inventaire”" in section
        html = self.page("en")
        assert "1 of 6 deliverables verified by the data" in html
        assert "Declared done, not verified by the data" in html

    def test_private_match_hidden_from_visitors(self):
        section = self.section(self.page())
        assert PRIVATE not in section
        assert "Un jeu de données qui n’est pas (ou plus) public" in section
        # Its producer and the commitment's editors see it.
        for user in (self.data["producer"], self.data["editor"]):
            self.login(user)
            assert PRIVATE in self.section(self.page())
            self.logout()
        self.login(UserFactory())
        assert PRIVATE not in self.section(self.page())

    def test_proof_outlives_the_data(self):
        section = self.section(self.page())
        # Hard-deleted, it was public: the proof still reads its title.
        assert PURGED in section and "(plus sur le portail)" in section
        # Had it been private when frozen, nobody but its producers would read it.
        Deliverable.objects(id=self.data["withdrawn"].id).update_one(
            set__proof=proof_of(datetime(2020, 4, 1, tzinfo=UTC), self.data["purged"], public=False)
        )
        assert PURGED not in self.section(self.page())

    def test_page_without_deliverables(self):
        Deliverable.objects.delete()
        Commitment.objects(id=self.data["c5"].id).update_one(set__verification={})
        html = self.page()
        assert "Aucun livrable n’est déclaré pour cet engagement" in html
        assert "vérifié par les données" not in html.split('id="deliverables"')[0]


class VerificationFiltersTest(OgpAPITestCase):
    @pytest.fixture(autouse=True)
    def _content(self, app):
        self.data = build_delivery_plan()
        plan = self.data["plan"]
        # Another commitment fully verified while declared not started.
        Commitment.objects(plan=plan, number=3).update_one(
            set__status="not_started",
            set__verification={
                "deliverables": 2,
                "met": 2,
                "summary": "verified",
                "discrepancy": "verified_beyond_claim",
            },
        )
        self.plan_url = f"/ogp/plans/{plan.slug}/"

    def get(self, url: str, lang: str = "fr") -> str:
        sep = "&" if "?" in url else "?"
        response = self.client.get(f"{url}{sep}lang={lang}", headers=BROWSER_HEADERS)
        assert response.status_code == 200
        html = response.data.decode()
        check_accessibility(html, lang)
        return html

    def test_plan_filter_by_verification_with_counts(self):
        html = self.get(self.plan_url)
        options = dict(select_options(html, "verification"))
        total = Commitment.objects(plan=self.data["plan"]).count()
        assert options["breached"] == "Un livrable n’est pas livré (1)"
        assert options["verified"] == "Tous les livrables sont vérifiés (1)"
        assert options["claimed_not_verified"].endswith("(1)")
        assert options["verified_beyond_claim"].endswith("(1)")
        assert options["none"].endswith(f"({total - 2})")
        for value, text in options.items():
            if not value:
                continue
            count = int(re.search(r"\((\d+)\)$", text).group(1))
            shown = self.get(f"{self.plan_url}?verification={value}")
            assert shown.count('class="ogp-commitment"') == count, value
        # Per commitment, k/n verified and the discrepancy; per plan, the totals.
        assert "Livrables : 1/6 vérifiés" in html and "Livrables : 2/2 vérifiés" in html
        assert "8 livrables déclarés" in html
        assert "2 engagements dont la déclaration et les données divergent" in html
        english = self.get(self.plan_url, "en")
        assert "Deliverables: 1/6 verified" in english
        assert "Verified by the data beyond what is declared" in english

    def test_index_summary_links_to_the_filter(self):
        html = self.get("/ogp/")
        assert "8 livrables déclarés" in html
        link = f"{self.plan_url}?verification=claimed_not_verified"
        assert link in html
        assert "Déclaré achevé, mais non vérifié par les données (1)" in html
        assert "(1)" in html
        english = self.get("/ogp/", "en")
        assert "8 deliverables declared" in english and "verification=" in english


class DeliverablesFeedTest(OgpAPITestCase):
    @pytest.fixture(autouse=True)
    def _content(self, app):
        self.data = build_delivery_plan()
        self.url = f"/ogp/plans/{self.data['plan'].slug}/feed.atom"

    def feed(self, lang: str = "fr") -> str:
        response = self.client.get(f"{self.url}?lang={lang}")
        assert response.status_code == 200
        return response.data.decode()

    def test_state_changes_are_entries(self):
        body = self.feed()
        assert f"livrable « {MET} » : livré" in body
        assert f"livrable « {WITHDRAWN} » : retiré" in body
        assert f"livrable « {BREACHED} » : non livré à la date promise" in body
        assert "Livré le 12 mars 2019, vérifié par les données du portail" in body
        assert "2019-03-12T09:30:00" in body  # the proof's date
        english = self.feed("en")
        assert f"deliverable “{MET_EN}”: delivered" in english

    def test_proof_items_follow_the_visibility_rule(self):
        # Frozen while private, then purged: its title is not named to anonymous readers.
        proof = proof_of(datetime(2020, 4, 1, tzinfo=UTC), self.data["purged"], public=False)
        event = DeliverableEvent(
            at=datetime(2020, 4, 1, tzinfo=UTC), state_from="pending", state_to="met", proof=proof
        )
        Deliverable.objects(id=self.data["withdrawn"].id).update_one(set__history=[event])
        body = self.feed()
        assert PURGED not in body and "Un jeu de données qui n’est pas (ou plus) public" in body
        self.login(self.data["editor"])
        assert PURGED in self.feed()

    def test_unpublished_commitment_stays_out(self):
        Commitment.objects(id=self.data["c5"].id).update_one(set__published=False)
        assert MET not in self.feed()
        self.login(self.data["editor"])
        assert MET in self.feed()
