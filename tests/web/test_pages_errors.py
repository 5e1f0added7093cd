"""A rule broken on a page form is shown in the visitor's language: French unless English is asked.

The plugin's rules (`udata_ogp.actions`, `udata_ogp.targets`) translate their messages when they
raise, in the request's language; the page answering the form shows them (no redirect).
"""

from __future__ import annotations

import pytest
from markupsafe import escape
from udata.core.dataset.factories import DatasetFactory
from udata.core.organization.factories import OrganizationFactory
from udata.core.user.factories import UserFactory

from tests import OgpAPITestCase
from tests.web.test_pages import compile_catalogues
from udata_ogp.factories import CommitmentFactory
from udata_ogp.models import CommitmentLink
from udata_ogp.web.blueprint import LANG_COOKIE

REFUSAL_FR = "Vous ne pouvez pas lier cet objet à cet engagement."
REFUSAL_EN = "You may not link this object to this commitment."

compile_catalogues()


class PageErrorsTest(OgpAPITestCase):
    @pytest.fixture(autouse=True)
    def _content(self, app):
        self.commitment = CommitmentFactory()
        # A public dataset of an organisation the visitor is not a member of.
        self.dataset = DatasetFactory(organization=OrganizationFactory())
        self.login(UserFactory())

    def url(self) -> str:
        return f"/ogp/commitments/{self.commitment.slug}/"

    def post_link(self, query: str = "", role: str = "related", status: int = 403) -> str:
        response = self.client.post(
            f"{self.url()}links{query}",
            data={"target": f"Dataset:{self.dataset.id}", "role": role},
        )
        assert response.status_code == status
        assert CommitmentLink.objects.count() == 0
        return response.data.decode()

    def shown(self, query: str = "") -> str:
        response = self.client.get(f"{self.url()}{query}")
        assert response.status_code == 200
        return response.data.decode()

    def test_refusal_in_french_by_default(self):
        html = self.post_link()
        assert '<html lang="fr"' in html
        assert REFUSAL_FR in html
        assert REFUSAL_EN not in html

    def test_refusal_in_english_with_lang(self):
        html = self.post_link("?lang=en")
        assert '<html lang="en"' in html
        assert REFUSAL_EN in html
        assert REFUSAL_FR not in html

    def test_refusal_in_english_with_the_language_cookie(self):
        # A page read in English remembers the choice in the cookie the pages use.
        self.shown("?lang=en")
        assert self.client.get_cookie(LANG_COOKIE, domain="local.test").value == "en"
        html = self.post_link()
        assert '<html lang="en"' in html
        assert REFUSAL_EN in html
        assert REFUSAL_FR not in html

    def test_message_with_placeholders_in_both_languages(self):
        # Codes are named by their labels on pages (the API keeps the codes: test_api_*).
        html = self.post_link(role="bogus", status=400)
        expected = (
            "Rôle inconnu 'bogus' ; valeurs possibles : Remplit l’engagement, Y contribue, "
            "Preuve d’avancement, En rapport."
        )
        assert str(escape(expected)) in html
        html = self.post_link("?lang=en", role="bogus", status=400)
        expected = (
            "Unknown role 'bogus'; expected one of: Fulfils the commitment, Contributes to it, "
            "Evidence of progress, Related."
        )
        assert str(escape(expected)) in html
