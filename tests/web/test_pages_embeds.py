"""What other sites take from the pages: the plan's Atom feed and the dataset badge's embed code."""

from __future__ import annotations

import re
from html import unescape
from xml.etree import ElementTree

import pytest

from tests import OgpAPITestCase
from tests.web.test_pages import BROWSER_HEADERS, build_france_plan, compile_catalogues

ATOM = "{http://www.w3.org/2005/Atom}"

compile_catalogues()


class EmbedsTest(OgpAPITestCase):
    @pytest.fixture(autouse=True)
    def _content(self, app):
        self.data = build_france_plan()

    def test_feed_has_authors(self, app):
        response = self.client.get(f"/ogp/plans/{self.data['plan'].slug}/feed.atom")
        assert response.status_code == 200
        feed = ElementTree.fromstring(response.data)
        assert feed.findtext(f"{ATOM}author/{ATOM}name") == app.config["SITE_TITLE"]
        entries = feed.findall(f"{ATOM}entry")
        assert entries
        lead = ", ".join(self.data["c5"].lead_institutions)
        for entry in entries:
            # Every entry here is about commitment 5: its lead institutions answer for it.
            assert entry.findtext(f"{ATOM}author/{ATOM}name") == lead

    def embed_code(self, lang: str) -> tuple[str, str]:
        response = self.client.get(
            f"/ogp/datasets/{self.data['dvf'].id}/?lang={lang}", headers=BROWSER_HEADERS
        )
        html = response.data.decode()
        code = unescape(re.search(r'id="badge-code" readonly value=\'([^\']*)\'', html).group(1))
        alt = unescape(re.search(r'<p><img src="[^"]*badge.svg[^"]*" alt="([^"]*)"', html).group(1))
        return code, alt

    def test_badge_embed_code_says_what_it_counts(self):
        code, alt = self.embed_code("fr")
        expected = (
            "Ce jeu de données sert 1 engagement "
            "des plans d’action pour un gouvernement ouvert publiés"
        )
        assert f'alt="{expected}"' in code
        assert alt == expected
        assert "badge.svg?lang=fr" in code
        badge = self.client.get(f"/ogp/datasets/{self.data['dvf'].id}/badge.svg?lang=fr")
        svg = ElementTree.fromstring(badge.data)
        assert svg.findtext("{http://www.w3.org/2000/svg}title") == expected
        assert svg.get("aria-label") == expected

        code, alt = self.embed_code("en")
        expected = "This dataset serves 1 commitment of the published open government action plans"
        assert f'alt="{expected}"' in code and alt == expected
        assert "badge.svg?lang=en" in code

    def test_badge_counts_commitments_not_links(self):
        """Two links of one dataset to one commitment: the page and the badge both say 1."""
        from udata_ogp.actions import create_link

        create_link(
            self.data["c5"],
            target_class="Dataset",
            target_id=self.data["dvf"].id,
            role="evidence",
            milestone="5.2",
            check=False,
        )
        code, alt = self.embed_code("en")
        assert alt.startswith("This dataset serves 1 commitment ")
