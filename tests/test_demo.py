"""The demo portal: what a newcomer sees after `udata ogp demo`."""

from flask import url_for

from udata_ogp.demo import DATASETS, load_demo_content
from udata_ogp.models import ActionPlan, Commitment, CommitmentLink

from . import OgpAPITestCase


class DemoContentTest(OgpAPITestCase):
    def test_demo_imports_the_plan_links_datasets_and_runs_the_sweep(self):
        content = load_demo_content()

        plan = ActionPlan.objects.get(slug=content.plan_slug)
        assert Commitment.objects(plan=plan).count() == 21
        assert Commitment.objects.get(ogp_id="FR0034").number == 5
        # Every stale state the demo makes on purpose shows up after the sweep.
        healths = {link.snapshot.slug: link for link in CommitmentLink.objects if link.snapshot}
        assert healths["demandes-de-valeurs-foncieres"].reasons  # overdue
        assert "archived" in " ".join(
            healths["donnees-essentielles-de-la-commande-publique-fichiers-consolides"].reasons
        )
        assert (
            healths["referentiel-des-administrateurs-ministeriels-des-donnees"].health == "broken"
        )
        assert healths["aire-geographique-des-igp"].health == "ok"
        assert CommitmentLink.objects(target_id=None).count() == 1  # expected data
        assert content.summary["links"] == CommitmentLink.objects(target_id__ne=None).count()
        tagged = CommitmentLink.objects.get(source="tag")
        assert tagged.commitment.ogp_id == "FR0034"
        assert tagged.snapshot.slug == "piaf-le-dataset-franco-phone-de-questions-reponses"
        # Removed from its harvested source: the harvester, not the producer, is named.
        harvested = healths["donnees-essentielles-des-marches-publics-de-la-region-grand-est"]
        assert harvested.reasons == ["archived:not-on-remote"]
        # Made private after linking: the sweep records that it is no longer public.
        private = healths["plan-de-nommage-des-administrateurs-ministeriels-des-donnees"]
        assert private.snapshot.public is False and private.reasons == ["private"]
        assert len(DATASETS) == 9

    def test_demo_accounts_work_on_the_api(self):
        content = load_demo_content()
        admin = content.accounts[0]
        response = self.client.get(
            url_for("api.ogp_commitments"), headers={"X-API-KEY": admin.api_key}
        )
        assert response.status_code == 200
        assert response.json["total"] == 21

    def test_demo_producer_key_identifies_the_producer(self):
        # One request per test: the app context pytest-flask pushes caches the user in `g`.
        producer = load_demo_content().accounts[1]
        me = self.client.get(url_for("api.me"), headers={"X-API-KEY": producer.api_key})
        assert me.json["email"] == "producteur@ogp.demo"

    def test_demo_pages_show_the_plan(self):
        content = load_demo_content()
        response = self.client.get(url_for("ogp.plan", slug=content.plan_slug))
        assert response.status_code == 200
        assert "Désigner des administrateurs ministériels des données" in response.text


def test_demo_cookies_work_on_plain_http_and_production_keeps_secure_ones():
    from udata import settings

    import udata_ogp
    from udata_ogp.demo import demo_settings

    demo = demo_settings()
    assert demo.SESSION_COOKIE_SECURE is False
    assert demo.REMEMBER_COOKIE_SECURE is False
    # Only the demo: a portal keeps udata's Secure session cookie.
    assert settings.Defaults.SESSION_COOKIE_SECURE is True
    assert not any("COOKIE" in key for key in udata_ogp.DEFAULTS)


class DemoDeliverablesTest(OgpAPITestCase):
    def test_every_state_of_a_deliverable_and_both_discrepancies(self):
        from udata_ogp.models import Deliverable

        content = load_demo_content()
        by_title = {d.title: d for d in Deliverable.objects}
        states = {d.state for d in by_title.values()}
        assert states == {"met", "pending", "at_risk", "breached", "unknown"}
        met = by_title["Les aires géographiques des signes officiels de qualité"]
        assert met.proof.items[0].snapshot.title == "Aire géographique des IGP"
        withdrawn = by_title["La liste publique des administrateurs ministériels des données"]
        assert (withdrawn.state, withdrawn.reasons[0]) == ("breached", "withdrawn")
        assert withdrawn.proof is not None and withdrawn.delivered_at is not None
        assert by_title["Les données de valeurs foncières (DVF)"].reasons == ["stale_matches"]
        discrepancies = {
            c.number: c.verification.get("discrepancy")
            for c in Commitment.objects
            if c.verification
        }
        assert discrepancies[2] == "claimed_not_verified"
        assert discrepancies[8] == "verified_beyond_claim"
        page = self.get(
            url_for("ogp.commitment", slug=content.deliverable_commitment),
            headers={"Accept": "text/html", "Accept-Language": "fr"},
        )
        assert page.status_code == 200
        assert "La liste publique des administrateurs ministériels des données" in page.text
