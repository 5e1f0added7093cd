"""Signing in as a newcomer to the demo does: udata's real login form over plain HTTP, then a form.

A real server (werkzeug in a thread) and a real HTTP client keep cookies as a browser does, so a
session cookie the client never sends back (Secure on http), or a user the session cannot find
again (no `fs_uniquifier`), fails here. CSRF is on, as in production: every form is posted with
the token its page printed.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urljoin

import lxml.html
import pytest
import requests
from udata.core.dataset.factories import DatasetFactory
from udata.models import Dataset, User

from tests import BROWSER_HEADERS, OgpAPITestCase
from tests.servers import serve_app
from udata_ogp.demo import DEMO_COOKIE_SETTINGS, DemoContent, load_demo_content
from udata_ogp.models import ActionPlan, Commitment, CommitmentLink

# A dataset of Etalab (the demo producer is one of its editors) that the demo leaves unlinked.
HACKATHON = "enquete-sur-le-hackathon-datafin-de-juin-2018"


def form_fields(html: str, action_ends: str) -> tuple[str, dict[str, str]]:
    """Action and submitted values (hidden fields included) of the page's form posting to …"""
    for form in lxml.html.fromstring(html).forms:
        if (form.action or "").split("?")[0].endswith(action_ends):
            return form.action, dict(form.form_values())
    raise AssertionError(f"no form posting to …{action_ends} on the page")


def sign_in(server: str, email: str, password: str, page: str) -> requests.Session:
    """As a visitor does: the page's sign-in link, udata's form filled in, back to the page."""
    browser = requests.Session()
    browser.headers.update(BROWSER_HEADERS)
    shown = browser.get(f"{server}{page}", timeout=30)
    assert shown.status_code == 200
    (href,) = lxml.html.fromstring(shown.text).xpath(
        "//header//a[contains(@href, '/login/')]/@href"
    )
    form_page = browser.get(urljoin(shown.url, href), timeout=30)
    assert form_page.status_code == 200, form_page.text[:2000]
    action, fields = form_fields(form_page.text, "/login/")
    assert fields.get("csrf_token"), "CSRF must be on for this test to mean anything"
    fields.update(email=email, password=password)
    signed_in = browser.post(
        urljoin(form_page.url, action), data=fields, allow_redirects=False, timeout=30
    )
    assert signed_in.status_code in (302, 303), signed_in.text[:2000]
    assert urljoin(server, signed_in.headers["Location"]) == f"{server}{page}"
    return browser


class DemoSignInTest(OgpAPITestCase):
    """The demo's accounts, with the demo's cookie settings, on a plain-http server."""

    def get_settings(self, request):
        base = super().get_settings(request)
        return type("OgpDemoSignIn", (base,), {**DEMO_COOKIE_SETTINGS, "WTF_CSRF_ENABLED": True})

    @pytest.fixture
    def server(self, app) -> Iterator[str]:
        with serve_app(app) as base:
            yield base

    @pytest.fixture
    def demo(self, app) -> DemoContent:
        return load_demo_content()

    def test_producer_signs_in_and_links_a_dataset(self, server, demo):
        producer = demo.accounts[1]
        plan = ActionPlan.objects.get(slug=demo.plan_slug)
        commitment = Commitment.objects.get(plan=plan, number=8)
        page = f"/ogp/commitments/{commitment.slug}/"
        browser = sign_in(server, producer.email, producer.password, page)

        shown = browser.get(f"{server}{page}", timeout=30)
        assert shown.status_code == 200
        assert "Paul Producteur" in shown.text  # "Connecté en tant que …": the session held
        target = Dataset.objects.get(slug=HACKATHON)
        action, fields = form_fields(shown.text, f"{page}links")
        offered = lxml.html.fromstring(shown.text).xpath("//select[@name='target']/option/@value")
        assert f"Dataset:{target.id}" in offered  # the producer's picker lists Etalab's data
        fields.update(target=f"Dataset:{target.id}", role="contributes", note="Hackathon 2018")
        posted = browser.post(f"{server}{action}", data=fields, allow_redirects=False, timeout=30)
        assert posted.status_code == 303, posted.text[:2000]

        link = CommitmentLink.objects.get(commitment=commitment, target_id=target.id)
        assert link.role == "contributes"
        assert link.linked_by.email == producer.email
        back = browser.get(urljoin(server, posted.headers["Location"]), timeout=30)
        assert "Hackathon 2018" in back.text

    def test_demo_accounts_are_distinct_users(self, server, demo):
        """udata's permissions tell the demo's users apart (`UserNeed(fs_uniquifier)`)."""
        admin, producer = (User.objects.get(email=account.email) for account in demo.accounts)
        key = {"X-API-KEY": demo.accounts[1].api_key}

        def edit(dataset) -> int:
            url = f"{server}/api/1/datasets/{dataset.id}/"
            return requests.put(url, json={"title": "Renamed"}, headers=key, timeout=30).status_code

        # udata's `OwnablePermission`: the producer edits their own dataset, not the admin's.
        assert edit(DatasetFactory(owner=admin)) == 403
        assert edit(DatasetFactory(owner=producer)) == 200
        assert admin.fs_uniquifier and producer.fs_uniquifier
        assert admin.fs_uniquifier != producer.fs_uniquifier
