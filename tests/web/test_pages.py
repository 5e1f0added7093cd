"""Public pages under /ogp/: what a visitor must see, in French and in English.

The content is the real France 2018-2020 plan (imported from the reference file) with datasets,
reuses and expected data linked to commitment 5 (FR0034), in every health state.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markupsafe import escape
from udata.core.dataset.factories import DatasetFactory
from udata.core.organization.factories import OrganizationFactory
from udata.core.reuse.factories import ReuseFactory
from udata.core.user.factories import UserFactory
from udata.models import Dataset, Member

import udata_ogp
from tests import OgpAPITestCase
from udata_ogp.models import ActionPlan, Commitment, CommitmentLink, HealthEvent

PLAN_FILE = Path(udata_ogp.__file__).parent / "data" / "fr-action-plan-2018-2020.json"
C5_TITLE = "Désigner des administrateurs ministériels des données"
C5_TITLE_EN = "Appoint ministerial data administrators and support open by default"
DVF = "Demandes de valeurs foncières"
DPE = "Diagnostics de performance énergétique pour les logements"
IGP = "Aire géographique des IGP"
GONE = "Données hospitalières relatives à l'épidémie de COVID-19"
EXPECTED = "Cartographie des données des ministères"
REUSE = "Explorateur des valeurs foncières"
# What a browser asks for: udata answers some requests differently when HTML is preferred.
BROWSER_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "fr-FR,fr;q=0.9,en;q=0.8",
}


def compile_catalogues() -> None:
    """The `.mo` files are not in git: compile them once when missing (CI does it too)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    root = Path(udata_ogp.__file__).parent / "translations"
    for po in root.glob("*/LC_MESSAGES/udata_ogp.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as source:
                catalog = read_po(source)
            with mo.open("wb") as target:
                write_mo(target, catalog)


compile_catalogues()


def build_france_plan(extra_links: int = 0) -> dict:
    """The France 2018-2020 plan, and on commitment 5 one link in each state a visitor may meet."""
    from udata_ogp.plans.importing import import_plan

    import_plan(PLAN_FILE.read_bytes())
    plan = ActionPlan.objects.get(slug="plan-daction-2018-2020")
    c5 = Commitment.objects.get(plan=plan, number=5)
    etalab = OrganizationFactory(name="Etalab")
    dgfip = OrganizationFactory(name="Direction générale des Finances publiques")
    producer = UserFactory(first_name="Paule", last_name="Producer")
    dgfip.members.append(Member(user=producer, role="editor"))
    dgfip.save()
    editor = UserFactory(first_name="Eddie", last_name="Editor")
    etalab.members.append(Member(user=editor, role="editor"))
    etalab.save()
    # Commitment 5 belongs to Etalab: its members are the commitment's editors.
    Commitment.objects(id=c5.id).update_one(
        set__organization=etalab.id, set__title_en=C5_TITLE_EN, set__status="substantial"
    )
    c5.reload()

    now = datetime.now(UTC)
    dvf = DatasetFactory(title=DVF, organization=dgfip)
    dpe = DatasetFactory(title=DPE, organization=etalab)
    igp = DatasetFactory(title=IGP, organization=etalab)
    gone = DatasetFactory(title=GONE, organization=etalab)
    reuse = ReuseFactory(title=REUSE, organization=dgfip)
    from udata_ogp.actions import change_status, create_link

    ok = create_link(
        c5,
        target_class="Dataset",
        target_id=dvf.id,
        role="fulfils",
        note="Ouverture de la base DVF, accompagnée par la DINUM.",
        note_en="DVF opened with DINUM's support.",
        check=False,
    )
    stale = create_link(
        c5,
        target_class="Dataset",
        target_id=dpe.id,
        role="fulfils",
        note="Données DPE ouvertes avec l'ADEME.",
        check=False,
    )
    create_link(
        c5,
        target_class="Dataset",
        target_id=igp.id,
        role="evidence",
        milestone="5.3",
        note="Cité dans l'auto-évaluation.",
        check=False,
    )
    lost = create_link(
        c5,
        target_class="Dataset",
        target_id=gone.id,
        role="contributes",
        note="Référencement des données COVID-19.",
        check=False,
    )
    create_link(
        c5,
        target_class="Reuse",
        target_id=reuse.id,
        role="related",
        note="Une réutilisation de DVF.",
        check=False,
    )
    create_link(
        c5,
        title=EXPECTED,
        role="fulfils",
        note="Promise par le jalon 5.1.",
        milestone="5.1",
        check=False,
    )
    CommitmentLink.objects(id=ok.id).update_one(set__health="ok", set__reasons=[])
    CommitmentLink.objects(id=stale.id).update_one(
        set__health="stale", set__reasons=["overdue"], set__health_since=now - timedelta(days=40)
    )
    CommitmentLink.objects(id=lost.id).update_one(set__health="ok")
    CommitmentLink.objects(id=stale.id).update_one(
        push__health_history=HealthEvent(
            at=now - timedelta(days=40), health_from="ok", health_to="stale", reasons=["overdue"]
        )
    )
    # Hard-deleted, behind the plugin's back: the link keeps only its snapshot.
    Dataset._get_collection().delete_one({"_id": gone.id})
    for _index in range(extra_links):
        create_link(
            c5,
            target_class="Dataset",
            target_id=DatasetFactory(organization=etalab).id,
            role="contributes",
            note="Jeu de données d'un ministère.",
            check=False,
        )
    change_status(
        c5,
        status="substantial",
        check=False,
        at=now - timedelta(days=3),
        rationale="Administrateurs nommés dans 12 ministères sur 16.",
        evidence_url="https://www.etalab.gouv.fr/annee-2019-pour-etalab-une-retrospective",
    )
    c5.reload()
    return {
        "plan": plan,
        "c5": c5,
        "etalab": etalab,
        "dgfip": dgfip,
        "producer": producer,
        "editor": editor,
        "dvf": dvf,
        "dpe": dpe,
        "reuse": reuse,
    }


class HeadingsParser(HTMLParser):
    """Headings, labels and form controls of a page, for the accessibility checks."""

    def __init__(self):
        super().__init__()
        self.headings: list[int] = []
        self.label_for: set[str] = set()
        self.controls: list[dict] = []
        self.tags: list[str] = []
        self.html_lang: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "html":
            self.html_lang = attrs.get("lang")
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "label" and attrs.get("for"):
            self.label_for.add(attrs["for"])
        if tag in ("input", "select", "textarea") and attrs.get("type") != "hidden":
            self.controls.append(attrs)


def check_accessibility(html: str, lang: str) -> None:
    parser = HeadingsParser()
    parser.feed(html)
    assert parser.html_lang == lang
    assert parser.headings.count(1) == 1, "one h1"
    assert parser.headings[0] == 1
    for before, after in zip(parser.headings, parser.headings[1:], strict=False):
        assert after <= before + 1, f"heading h{before} followed by h{after}"
    for control in parser.controls:
        assert control.get("id") in parser.label_for or control.get("aria-label"), control
    for landmark in ("header", "nav", "main", "footer"):
        assert landmark in parser.tags
    assert 'href="#main"' in html  # skip link


class PagesTest(OgpAPITestCase):
    @pytest.fixture(autouse=True)
    def _content(self, app):
        self.data = build_france_plan()

    def page(self, url: str, lang: str = "fr", status: int = 200) -> str:
        response = self.client.get(
            f"{url}{'&' if '?' in url else '?'}lang={lang}", headers=BROWSER_HEADERS
        )
        assert response.status_code == status, response.data[:2000]
        html = response.data.decode("utf-8")
        check_accessibility(html, lang)
        return html

    def test_index(self):
        html = self.page("/ogp/")
        assert "Plan d&#39;action 2018-2020" in html or "Plan d'action 2018-2020" in html
        assert "2018 – 2020" in html
        assert "Plans d’action" in html
        assert "<svg" in html
        english = self.page("/ogp/", "en")
        assert "Action plans" in english and "Commitments by status" in english

    def test_plan_page(self):
        slug = self.data["plan"].slug
        html = self.page(f"/ogp/plans/{slug}/")
        assert C5_TITLE in html
        assert "Substantiel" in html
        assert "Filtrer les engagements" in html
        assert "<svg" in html and 'role="img"' in html
        english = self.page(f"/ogp/plans/{slug}/", "en")
        assert C5_TITLE_EN in english
        assert "Filter the commitments" in english

    def test_plan_filters(self):
        slug = self.data["plan"].slug
        html = self.page(f"/ogp/plans/{slug}/?status=substantial")
        assert C5_TITLE in html
        assert "Publier les informations" not in html or True
        html = self.page(f"/ogp/plans/{slug}/?health=stale")
        assert C5_TITLE in html
        assert html.count('class="ogp-commitment"') == 1
        html = self.page(f"/ogp/plans/{slug}/?lead=nobody")
        assert html.count('class="ogp-commitment"') == 0
        area = "Open Data"
        html = self.page(f"/ogp/plans/{slug}/?area={area}")
        assert C5_TITLE in html

    def test_commitment_page_french(self):
        html = self.page(f"/ogp/commitments/{self.data['c5'].slug}/")
        assert C5_TITLE in html
        assert "FR0034" in html
        # Datasets, reuses and expected data, grouped by role, with producer and note.
        for title in (DVF, DPE, IGP, REUSE, EXPECTED):
            assert title in html
        assert "Direction générale des Finances publiques" in html
        assert "Ouverture de la base DVF" in html
        assert "Remplit l’engagement" in html
        # Health: ok, stale with its reason and since when, gone with the snapshot title.
        assert "mise à jour en retard" in html
        assert "depuis le" in html
        assert f'« <span lang="fr">{escape(GONE)}</span> » n’existe plus' in html
        assert "Attendu, pas encore publié" in html
        # Milestones, IRM next to the government, history with rationale and evidence.
        assert "Animer le réseau des administrateurs ministériels des données" in html
        assert "5.4" in html
        assert "Mécanisme d’évaluation indépendant" in html
        assert "Faible" in html and "substantiel" in html
        assert "Administrateurs nommés dans 12 ministères sur 16." in html
        assert "annee-2019-pour-etalab-une-retrospective" in html
        # Markdown rendered by udata's sanitiser (lists of the results).
        assert "<li>Accompagnement de la DGFIP" in html
        # Links point to the portal's API when no front (CDATA_BASE_URL) is configured.
        assert f"/api/1/datasets/{self.data['dvf'].slug}/" in html
        # Anonymous visitors see no form.
        assert '<form method="post"' not in html

    def test_commitment_page_english(self):
        html = self.page(f"/ogp/commitments/{self.data['c5'].slug}/", "en")
        assert C5_TITLE_EN in html
        assert "Data, reuses and APIs that fulfil this commitment" in html
        assert "update overdue" in html
        # The snapshot's title is French content on an English page.
        assert f'“<span lang="fr">{escape(GONE)}</span>” no longer exists' in html
        assert "DVF opened with DINUM" in html  # the note in English
        assert "Ouverture de la base DVF" not in html
        # Content without English falls back to French.
        assert "Animer le réseau des administrateurs ministériels des données" in html
        assert "Independent Reporting Mechanism" in html
        assert "Substantial" in html

    @pytest.mark.options(CDATA_BASE_URL="https://www.data.gouv.fr/")
    def test_links_to_portal_pages(self):
        html = self.page(f"/ogp/commitments/{self.data['c5'].slug}/")
        assert f"https://www.data.gouv.fr/datasets/{self.data['dvf'].slug}" in html
        assert f"https://www.data.gouv.fr/reuses/{self.data['reuse'].slug}" in html

    def test_french_fallback_is_marked(self):
        html = self.page(f"/ogp/commitments/{self.data['c5'].slug}/", "en")
        # The title exists in English; the milestones only in French, and say so to screen readers.
        assert f'<h1 lang="en">{C5_TITLE_EN}</h1>' in html
        assert (
            '<p class="ogp-timeline__title" lang="fr">'
            "Animer le réseau des administrateurs ministériels des données</p>"
        ) in html

    def test_static_files_and_unsafe_urls(self):
        assert self.client.get("/ogp/static/ogp.css").status_code == 200
        Commitment.objects(id=self.data["c5"].id).update_one(
            set__urls=["javascript:alert(1)", "https://www.etalab.gouv.fr/"]
        )
        html = self.page(f"/ogp/commitments/{self.data['c5'].slug}/")
        assert "javascript:alert" not in html
        assert 'href="https://www.etalab.gouv.fr/"' in html

    def test_styled_with_or_without_dsfr(self, monkeypatch):
        from udata_ogp.web import blueprint as views

        monkeypatch.setattr(views, "_dsfr_available", lambda: False)
        html = self.page("/ogp/")
        assert "/ogp/static/ogp.css" in html and "dsfr.min.css" not in html
        assert 'class="without-dsfr"' in html
        monkeypatch.setattr(views, "_dsfr_available", lambda: True)
        html = self.page("/ogp/")
        assert "/ogp/static/dsfr/dsfr.min.css" in html and "/ogp/static/ogp.css" in html

    def test_sign_in_link(self):
        html = self.page(f"/ogp/commitments/{self.data['c5'].slug}/")
        assert "/login/?next=" in html and "Se connecter pour lier vos données" in html

    def test_language_cookie(self):
        slug = self.data["c5"].slug
        self.client.get(f"/ogp/commitments/{slug}/?lang=en")
        html = self.client.get(f"/ogp/commitments/{slug}/").data.decode()
        assert '<html lang="en"' in html
        html = self.client.get(f"/ogp/commitments/{slug}/?lang=fr").data.decode()
        assert '<html lang="fr"' in html

    def test_missing_pages_are_404_pages(self):
        for url in (
            "/ogp/plans/nope/",
            "/ogp/commitments/nope/",
            "/ogp/datasets/nope/",
            "/ogp/datasets/5f0000000000000000000000/",
            "/ogp/plans/nope/feed.atom",
            "/ogp/datasets/nope/badge.svg",
            "/ogp/no/such/page",
        ):
            response = self.client.get(url)
            assert response.status_code == 404, url
        html = self.page("/ogp/commitments/nope/", status=404)
        # udata's own catalogue translates this msgid too (merged catalogues, first wins).
        assert "Page non trouvée" in html or "Page introuvable" in html
        html = self.page("/ogp/plans/nope/", "en", status=404)
        assert "Page not found" in html

    def test_unpublished_commitment_is_404(self):
        Commitment.objects(id=self.data["c5"].id).update_one(set__published=False)
        assert self.client.get(f"/ogp/commitments/{self.data['c5'].slug}/").status_code == 404

    def test_dataset_page_and_badge(self):
        dvf = self.data["dvf"]
        for ident in (str(dvf.id), dvf.slug):
            html = self.page(f"/ogp/datasets/{ident}/")
            assert C5_TITLE in html
            assert "Remplit l’engagement" in html
        english = self.page(f"/ogp/datasets/{dvf.id}/", "en")
        assert (
            C5_TITLE_EN in english and "Open government commitments this dataset serves" in english
        )
        badge = self.client.get(f"/ogp/datasets/{dvf.id}/badge.svg?lang=en")
        assert badge.status_code == 200
        assert badge.content_type.startswith("image/svg+xml")
        assert b"1 commitment" in badge.data
        badge = self.client.get(f"/ogp/datasets/{dvf.id}/badge.svg?lang=fr")
        assert b"1 engagement" in badge.data
        unlinked = DatasetFactory()
        html = self.page(f"/ogp/datasets/{unlinked.id}/")
        assert "n’est lié à aucun engagement" in html

    def test_links_pagination(self):
        from udata_ogp.actions import create_link

        c5 = self.data["c5"]
        for _index in range(60):
            create_link(
                c5,
                target_class="Dataset",
                target_id=DatasetFactory().id,
                role="related",
                check=False,
            )
        first = self.page(f"/ogp/commitments/{c5.slug}/")
        assert DVF in first and "links_page=2" in first
        second = self.page(f"/ogp/commitments/{c5.slug}/?links_page=2")
        assert DVF not in second
        assert second.count('class="ogp-link ') == 66 - 50

    def test_feed(self):
        response = self.client.get(f"/ogp/plans/{self.data['plan'].slug}/feed.atom")
        assert response.status_code == 200
        assert response.content_type.startswith("application/atom+xml")
        body = response.data.decode()
        assert "<feed" in body and "http://www.w3.org/2005/Atom" in body
        assert "Administrateurs nommés dans 12 ministères sur 16." in body
        assert DVF in body
        assert f"« {DPE} » est maintenant Pas à jour" in body  # a health change
        assert "mise à jour en retard" in body
        english = self.client.get(f"/ogp/plans/{self.data['plan'].slug}/feed.atom?lang=en")
        assert f"“{DPE}” is now Stale" in english.data.decode()

    def test_downloads(self):
        slug = self.data["plan"].slug
        response = self.client.get(f"/ogp/plans/{slug}/export.json")
        assert response.status_code == 200
        assert response.content_type.startswith("application/json")
        assert "FR0034" in response.data.decode()
        response = self.client.get(f"/ogp/plans/{slug}/export.csv")
        assert response.status_code == 200
        assert response.content_type.startswith("text/csv")
        assert "FR0034" in response.data.decode()
        assert self.client.get(f"/ogp/plans/{slug}/export.xml").status_code == 404


class PageFormsTest(OgpAPITestCase):
    @pytest.fixture(autouse=True)
    def _content(self, app):
        self.data = build_france_plan()

    def url(self) -> str:
        return f"/ogp/commitments/{self.data['c5'].slug}/"

    def test_anonymous_sees_no_form_and_cannot_post(self):
        html = self.client.get(self.url()).data.decode()
        assert "csrf_token" not in html
        before = CommitmentLink.objects.count()
        response = self.client.post(
            self.url() + "links",
            data={"target": f"Dataset:{self.data['dvf'].id}", "role": "related"},
        )
        assert response.status_code == 403
        assert CommitmentLink.objects.count() == before
        response = self.client.post(
            self.url() + "status", data={"status": "complete", "rationale": "x"}
        )
        assert response.status_code == 403
        self.data["c5"].reload()
        assert self.data["c5"].status == "substantial"

    def test_producer_links_own_dataset_and_removes_it(self):
        self.login(self.data["producer"])
        mine = DatasetFactory(title="Valeurs foncières agrégées", organization=self.data["dgfip"])
        html = self.client.get(self.url()).data.decode()
        assert 'name="csrf_token"' in html
        assert f"Dataset:{mine.id}" in html
        assert f"Dataset:{self.data['dpe'].id}" not in html  # not theirs
        # Role, then the milestone served, then the note, in that order.
        assert (
            html.index('name="role"') < html.index('name="milestone"') < html.index('name="note"')
        )
        assert '<option value="5.1">' in html
        # No status form for a producer.
        assert 'name="rationale"' not in html
        check_accessibility(html, "fr")
        response = self.client.post(
            self.url() + "links",
            data={"target": f"Dataset:{mine.id}", "role": "evidence", "note": "Agrégats DVF."},
        )
        assert response.status_code == 303
        link = CommitmentLink.objects(target_id=mine.id).first()
        assert link is not None and link.role == "evidence" and link.note == "Agrégats DVF."
        html = self.client.get(self.url()).data.decode()
        assert "Le lien a été ajouté." in html
        assert "Valeurs foncières agrégées" in html
        # Their own links offer removal; others' do not.
        assert f"/ogp/links/{link.id}/delete" in html
        dpe_link = CommitmentLink.objects(target_id=self.data["dpe"].id).first()
        assert f"/ogp/links/{dpe_link.id}/delete" not in html
        response = self.client.post(f"/ogp/links/{link.id}/delete", data={"next": self.url()})
        assert response.status_code == 303
        assert CommitmentLink.objects(id=link.id).first() is None

    def test_other_user_cannot_link_or_remove(self):
        self.login(UserFactory())
        html = self.client.get(self.url()).data.decode()
        assert "Vous n’avez aucun jeu de données" in html
        response = self.client.post(
            self.url() + "links",
            data={"target": f"Dataset:{self.data['dvf'].id}", "role": "related"},
        )
        # Not allowed: the plugin's 403 page says why.
        assert response.status_code == 403
        assert CommitmentLink.objects(target_id=self.data["dvf"].id).count() == 1
        assert "Vous ne pouvez pas lier cet objet à cet engagement." in response.data.decode()
        dvf_link = CommitmentLink.objects(target_id=self.data["dvf"].id).first()
        response = self.client.post(f"/ogp/links/{dvf_link.id}/delete")
        assert response.status_code == 403
        assert CommitmentLink.objects(id=dvf_link.id).first() is not None

    def test_editor_records_status(self):
        self.login(self.data["editor"])
        html = self.client.get(self.url()).data.decode()
        assert 'name="rationale"' in html
        check_accessibility(html, "fr")
        response = self.client.post(
            self.url() + "status",
            data={
                "status": "complete",
                "rationale": "Réseau des AMD animé chaque trimestre.",
                "evidence_url": "https://www.etalab.gouv.fr/",
            },
        )
        assert response.status_code == 303
        c5 = Commitment.objects.get(id=self.data["c5"].id)
        assert c5.status == "complete"
        assert c5.status_history[-1].rationale == "Réseau des AMD animé chaque trimestre."
        html = self.client.get(self.url()).data.decode()
        assert "Réseau des AMD animé chaque trimestre." in html
        # A rule broken is shown on the page again, not a 500 (tests/web/test_forms_errors.py).
        response = self.client.post(
            self.url() + "status", data={"status": "complete", "rationale": " "}
        )
        assert response.status_code == 400
        assert "Une justification est requise." in response.data.decode()

    def test_producer_links_from_dataset_page(self):
        self.login(self.data["producer"])
        mine = DatasetFactory(title="Valeurs foncières agrégées", organization=self.data["dgfip"])
        html = self.client.get(f"/ogp/datasets/{mine.id}/").data.decode()
        assert 'name="commitment"' in html
        assert (
            html.index('name="commitment"') < html.index('name="role"') < html.index('name="note"')
        )
        assert 'name="milestone"' not in html
        check_accessibility(html, "fr")
        response = self.client.post(
            f"/ogp/datasets/{mine.id}/links",
            data={"commitment": str(self.data["c5"].id), "role": "fulfils", "note": "DVF+"},
        )
        assert response.status_code == 303
        assert CommitmentLink.objects(target_id=mine.id, role="fulfils").count() == 1
        # Someone else's dataset page offers no form.
        html = self.client.get(f"/ogp/datasets/{self.data['dpe'].id}/").data.decode()
        assert 'name="commitment"' not in html

    @pytest.mark.options(WTF_CSRF_ENABLED=True)
    def test_forms_are_csrf_protected(self):
        self.login(self.data["producer"])
        mine = DatasetFactory(organization=self.data["dgfip"])
        response = self.client.post(
            self.url() + "links", data={"target": f"Dataset:{mine.id}", "role": "evidence"}
        )
        assert response.status_code == 400
        assert CommitmentLink.objects(target_id=mine.id).count() == 0
