"""On English pages, French content is marked `lang="fr"`; OGP's terms are in English.

The plan is French; only some titles have an English version. A screen reader reads a text in the
language of its nearest `lang` attribute, so every French text must sit under `lang="fr"`.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from tests import OgpAPITestCase
from tests.web.test_pages import BROWSER_HEADERS, DVF, IGP, build_france_plan, check_accessibility

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class LangParser(HTMLParser):
    """Every text of the page's body with the language it is read in."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, str]] = []
        self.texts: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        parent = self.stack[-1][1] if self.stack else ""
        self.stack.append((tag, dict(attrs).get("lang") or parent))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        text = " ".join(data.split())
        tags = [tag for tag, _lang in self.stack]
        if text and self.stack and "body" in tags and not {"script", "style"} & set(tags):
            self.texts.append((text, self.stack[-1][1]))


def texts_in(html: str, lang: str) -> list[str]:
    parser = LangParser()
    parser.feed(html)
    return [text for text, text_lang in parser.texts if text_lang == lang]


class LangTest(OgpAPITestCase):
    @pytest.fixture(autouse=True)
    def _content(self, app):
        self.data = build_france_plan()

    def english(self, url: str) -> str:
        response = self.client.get(f"{url}?lang=en", headers=BROWSER_HEADERS)
        assert response.status_code == 200
        html = response.data.decode()
        check_accessibility(html, "en")
        return html

    def assert_french(self, html: str, *french: str) -> None:
        english = " | ".join(texts_in(html, "en"))
        for text in french:
            assert text not in english, f"{text!r} read as English"
        marked = " | ".join(texts_in(html, "fr"))
        for text in french:
            assert text in marked, f"{text!r} not found under lang=fr"

    def test_commitment_page(self):
        c5 = self.data["c5"]
        html = self.english(f"/ogp/commitments/{c5.slug}/")
        plan_title = self.data["plan"].title
        self.assert_french(
            html,
            plan_title,
            c5.lead_institutions[0],
            DVF,
            "Cité dans l'auto-évaluation.",  # a note without English version
            "Administrateurs nommés dans 12 ministères sur 16.",  # the status rationale
            c5.milestones[0].title,
        )
        english = " | ".join(texts_in(html, "en"))
        # OGP's English terms for policy areas and the IRM's answers.
        for term in ("Data Stewardship and Privacy", "Digital Governance", "Yes", "Low", "Minor"):
            assert term in english, term
        assert "Gérance des données et confidentialité" not in html
        for term in ("Faible", "mineur", "Oui"):
            assert term not in texts_in(html, "en"), term

    def test_plan_index_and_dataset_pages(self):
        plan = self.data["plan"]
        other = next(c for c in self.commitments() if not c.title_en)
        html = self.english(f"/ogp/plans/{plan.slug}/")
        self.assert_french(html, plan.title, other.title, other.lead_institutions[0])
        self.assert_french(self.english("/ogp/"), plan.title)
        html = self.english(f"/ogp/datasets/{self.data['dvf'].id}/")
        self.assert_french(html, DVF, plan.title)

    def test_deliverables(self):
        from tests.web.test_pages_delivery import PENDING, PURGED, add_deliverables

        data = add_deliverables(self.data)
        html = self.english(f"/ogp/commitments/{data['c5'].slug}/")
        # Titles without English, producers named in rules, proofs' titles: French, marked.
        self.assert_french(html, PENDING, data["dgfip"].name, PURGED)
        english = " | ".join(texts_in(html, "en"))
        assert "Deliverables" in english and "Proof of delivery" in english

    def test_french_pages_stay_french(self):
        c5 = self.data["c5"]
        response = self.client.get(f"/ogp/commitments/{c5.slug}/?lang=fr", headers=BROWSER_HEADERS)
        html = response.data.decode()
        assert "Gérance des données et confidentialité" in html
        assert IGP in html

    def commitments(self):
        from udata_ogp.models import Commitment

        return Commitment.objects(plan=self.data["plan"]).order_by("number")
