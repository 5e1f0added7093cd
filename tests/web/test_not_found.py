"""A browser asking for a missing page under /ogp/ gets the plugin's 404 page, not udata's.

udata swaps every HTML 404 for its own bare page when the client prefers `text/html` (an
app-wide `after_request` hook): only a client sending a browser's `Accept` header sees it, so
every request here sends one.
"""

from __future__ import annotations

import pytest

from tests import BROWSER_HEADERS, OgpAPITestCase
from udata_ogp.factories import ActionPlanFactory, CommitmentFactory

PLUGIN_PAGE = "/ogp/static/ogp.css"  # the plugin's layout, which udata's 404 page lacks
UDATA_PAGE = "<title>404 - "  # udata's templates/404.html

MISSING = [
    ("get", "/ogp/plans/nope/"),
    ("get", "/ogp/commitments/nope/"),
    ("get", "/ogp/datasets/5f0000000000000000000000/"),
    ("get", "/ogp/plans/nope/feed.atom"),
    ("get", "/ogp/no/such/page"),
    ("post", "/ogp/links/5f0000000000000000000000/delete"),
    ("post", "/ogp/commitments/nope/links"),
]


class NotFoundPagesTest(OgpAPITestCase):
    @pytest.mark.parametrize("method,url", MISSING)
    def test_missing_ogp_page_is_the_plugins_page(self, method, url):
        response = getattr(self.client, method)(url, headers=BROWSER_HEADERS)
        assert response.status_code == 404
        assert response.mimetype == "text/html"
        html = response.text
        assert PLUGIN_PAGE in html, html[:500]
        assert UDATA_PAGE not in html
        assert "Page non trouvée" in html or "Page introuvable" in html

    def test_missing_plan_in_english(self):
        ActionPlanFactory()  # a portal with plans: the missing one is still missing
        response = self.client.get("/ogp/plans/nope/?lang=en", headers=BROWSER_HEADERS)
        assert response.status_code == 404
        assert '<html lang="en"' in response.text
        assert "Page not found" in response.text and PLUGIN_PAGE in response.text

    def test_unpublished_commitment_is_the_plugins_404(self):
        commitment = CommitmentFactory(published=False)
        response = self.client.get(f"/ogp/commitments/{commitment.slug}/", headers=BROWSER_HEADERS)
        assert response.status_code == 404
        assert PLUGIN_PAGE in response.text

    def test_udata_404s_elsewhere_are_udatas(self):
        for url in ("/no/such/page/", "/api/1/ogp/plans/nope/"):
            response = self.client.get(url, headers=BROWSER_HEADERS)
            assert response.status_code == 404, url
            assert UDATA_PAGE in response.text, url
            assert PLUGIN_PAGE not in response.text, url
        api = self.client.get("/api/1/ogp/plans/nope/", headers={"Accept": "application/json"})
        assert api.status_code == 404 and api.is_json
