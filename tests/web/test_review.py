"""The review queue page, as its users reach it: an editor signed in through udata's real login
form (CSRF on) follows the commitment page's link, accepts one proposal and rejects another;
nobody else sees the queue."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urljoin

import lxml.html
import pytest

from tests import BROWSER_HEADERS, OgpAPITestCase
from tests.api.test_api_permissions import ROLES, build_world
from tests.api.test_api_proposals import _proposal
from tests.servers import serve_app
from tests.web.test_login import form_fields, sign_in
from tests.web.test_pages import check_accessibility
from udata_ogp.demo import DEMO_COOKIE_SETTINGS, DemoContent, load_demo_content
from udata_ogp.models import Deliverable, Proposal


class ReviewQueueSignedInTest(OgpAPITestCase):
    def get_settings(self, request):
        base = super().get_settings(request)
        return type("OgpReview", (base,), {**DEMO_COOKIE_SETTINGS, "WTF_CSRF_ENABLED": True})

    @pytest.fixture
    def server(self, app) -> Iterator[str]:
        with serve_app(app) as base:
            yield base

    @pytest.fixture
    def demo(self, app) -> DemoContent:
        return load_demo_content()

    def test_an_editor_accepts_from_the_page(self, server, demo):
        producer = demo.accounts[1]  # editor of Etalab, whose plan holds commitment 13
        page = f"/ogp/commitments/{demo.review_commitment}/"
        browser = sign_in(server, producer.email, producer.password, page)
        shown = browser.get(f"{server}{page}", timeout=30)
        (queue,) = lxml.html.fromstring(shown.text).xpath(
            "//a[contains(@href, '/proposals/')]/@href"
        )
        assert "1 proposition" in shown.text
        listing = browser.get(urljoin(shown.url, queue), timeout=30)
        assert listing.status_code == 200
        assert "Observatoire de la dématérialisation" in listing.text
        proposal = Proposal.objects.get(state="open")
        action, fields = form_fields(listing.text, f"/proposals/{proposal.id}/accept")
        assert fields.get("csrf_token")
        fields["reason"] = "Le tableau de bord publié par la DITP."
        posted = browser.post(
            urljoin(server, action), data=fields, allow_redirects=False, timeout=30
        )
        assert posted.status_code == 303, posted.text[:2000]
        proposal.reload()
        assert (proposal.state, proposal.decided_by.email) == ("accepted", producer.email)
        deliverable = Deliverable.objects.get(id=proposal.deliverable.id)
        assert deliverable.target_id == proposal.target_id
        back = browser.get(urljoin(server, posted.headers["Location"]), timeout=30)
        assert "Le tableau de bord publié par la DITP." in back.text  # among the decided


class ReviewQueueTest(OgpAPITestCase):
    @pytest.mark.parametrize("role", ROLES)
    def test_only_the_commitments_editors_see_the_queue(self, role):
        w = build_world()
        _proposal(w)
        user = w.users[role]
        if user is not None:
            self.login(user)
        response = self.get(
            f"/ogp/commitments/{w.commitment.slug}/proposals/", headers=BROWSER_HEADERS
        )
        expected = 200 if role in {"editor", "admin"} else 403
        assert response.status_code == expected
        assert ("Demandes de valeurs foncières" in response.text) is (expected == 200)
        if expected == 200:
            check_accessibility(response.text, "fr")
        commitment_page = self.get(
            f"/ogp/commitments/{w.commitment.slug}/", headers=BROWSER_HEADERS
        )
        assert ("/proposals/" in commitment_page.text) is (expected == 200)

    @pytest.mark.parametrize("role", ["producer", "other_producer"])
    def test_others_cannot_decide(self, role):
        w = build_world()
        proposal = _proposal(w)
        self.login(w.users[role])
        response = self.post(
            f"/ogp/proposals/{proposal.id}/reject",
            {"reason": "non"},
            json=False,
            headers=BROWSER_HEADERS,
        )
        assert response.status_code == 403
        assert Proposal.objects.get(id=proposal.id).state == "open"

    def test_a_refused_reason_is_shown_at_its_field(self):
        w = build_world()
        proposal = _proposal(w)
        self.login(w.users["editor"])
        response = self.post(
            f"/ogp/proposals/{proposal.id}/reject",
            {"reason": "x" * 20000},
            json=False,
            headers=BROWSER_HEADERS,
        )
        p = Proposal.objects.get(id=proposal.id)
        assert response.status_code == 400, (
            response.headers.get("Location"),
            p.state,
            len(p.reason or ""),
        )
        check_accessibility(response.text, "fr")
        html = lxml.html.fromstring(response.text)
        (field,) = html.xpath(f"//input[@id='decide-{proposal.id}-reason']")
        assert field.get("aria-invalid") == "true"
        assert html.xpath(f"//*[@id='decide-{proposal.id}-reason-error']")
        assert Proposal.objects.get(id=proposal.id).state == "open"

    def test_rejecting_twice_is_a_conflict_said_on_the_page(self):
        w = build_world()
        proposal = _proposal(w)
        self.login(w.users["admin"])
        url = f"/ogp/proposals/{proposal.id}/reject"
        assert self.post(url, {}, json=False, headers=BROWSER_HEADERS).status_code == 303
        again = self.post(url, {}, json=False, headers=BROWSER_HEADERS)
        assert again.status_code == 409
        assert Proposal.objects.get(id=proposal.id).state == "rejected"
