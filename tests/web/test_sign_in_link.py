"""The pages' sign-in link: the portal's login (`OGP_LOGIN_URL`), back to the page's GET address.

A page rendered from a POST (a form's error, a 404 of a form) is shown at the form's address,
which answers POST only: its links back to "this page" must name the page the form was on.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import lxml.html
import pytest
from udata.core.dataset.factories import DatasetFactory
from udata.core.organization.factories import OrganizationFactory
from udata.core.user.factories import UserFactory
from udata.models import Member

from tests import BROWSER_HEADERS, OgpAPITestCase
from udata_ogp.factories import CommitmentFactory, CommitmentLinkFactory

CDATA_LOGIN = "https://www.data.gouv.fr/login"


def hrefs(html: str) -> dict[str, str]:
    """The header's sign-in / sign-out and language links, by what they do."""
    page = lxml.html.fromstring(html)
    found = {}
    for href in page.xpath("//header//a/@href"):
        if "next=" in href:
            found["logout" if "logout" in href else "login"] = href
        elif "lang=en" in href:
            found["en"] = href
    return found


def next_of(href: str) -> str:
    return parse_qs(urlsplit(href).query)["next"][0]


class SignInLinkTest(OgpAPITestCase):
    @pytest.fixture(autouse=True)
    def _content(self, app):
        self.commitment = CommitmentFactory()
        self.page_url = f"/ogp/commitments/{self.commitment.slug}/"

    def get(self, url: str, status: int = 200) -> str:
        response = self.client.get(url, headers=BROWSER_HEADERS)
        assert response.status_code == status, response.text[:1000]
        return response.text

    def test_defaults_to_udatas_login_back_to_the_page(self):
        href = hrefs(self.get(f"{self.page_url}?links_page=1&lang=en"))["login"]
        assert urlsplit(href).path == "/login/"
        assert next_of(href) == f"{self.page_url}?links_page=1&lang=en"

    def test_portal_login_from_the_setting(self, app):
        app.config["OGP_LOGIN_URL"] = CDATA_LOGIN
        href = hrefs(self.get(self.page_url))["login"]
        assert href.startswith(f"{CDATA_LOGIN}?next=")
        assert next_of(href) == self.page_url

    def test_setting_keeps_the_portals_own_query(self, app):
        app.config["OGP_LOGIN_URL"] = "https://portal.example/fr/login?source=ogp"
        href = hrefs(self.get(self.page_url))["login"]
        parts = urlsplit(href)
        assert (parts.netloc, parts.path) == ("portal.example", "/fr/login")
        assert parse_qs(parts.query) == {"source": ["ogp"], "next": [self.page_url]}

    def test_sign_out_link_back_to_the_page(self):
        self.login(UserFactory())
        links = hrefs(self.get(f"{self.page_url}?lang=fr"))
        assert "login" not in links
        assert next_of(links["logout"]) == f"{self.page_url}?lang=fr"

    def test_page_rendered_from_a_post_links_back_to_its_get_address(self):
        # A form of the commitment page posting to a commitment gone since: its 404 page is
        # rendered at the POST-only address, and names the page the form was on.
        html = self.client.post(
            "/ogp/commitments/gone-since/links",
            data={"next": f"{self.page_url}?lang=en", "target": "Dataset:x"},
            headers=BROWSER_HEADERS,
        ).text
        links = hrefs(html)
        assert next_of(links["login"]) == f"{self.page_url}?lang=en"
        assert links["en"].startswith(self.page_url)

    def test_page_re_rendered_from_its_form_post(self, app):
        """What a form's error does: the commitment page rendered by the form's POST handler."""
        from flask_security.utils import login_user

        from udata_ogp.web import pages

        editor = UserFactory()
        org = OrganizationFactory(members=[Member(user=editor, role="editor")])
        self.commitment.modify(organization=org)
        CommitmentLinkFactory(commitment=self.commitment)  # a link the editor may remove
        DatasetFactory(organization=org)  # one the editor may link
        get_address = f"{self.page_url}?links_page=1"
        with app.test_request_context(
            f"{self.page_url}links",
            method="POST",
            data={"next": get_address},
            headers=BROWSER_HEADERS,
        ):
            app.preprocess_request()
            login_user(editor)
            html = pages.commitment(self.commitment.slug)
        links = hrefs(html)
        assert next_of(links["logout"]) == get_address
        assert links["en"] == f"{self.page_url}?links_page=1&lang=en"
        # The page's own forms come back to the GET address too, not to the POST one.
        forms = lxml.html.fromstring(html).xpath("//form[@method='post']")
        assert len(forms) >= 3  # remove the link, add a link, record a status
        assert {form.fields["next"] for form in forms} == {get_address}
