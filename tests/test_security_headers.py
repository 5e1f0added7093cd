"""Security headers on every kind of output of the plugin, and cross-site writes to its API."""

from __future__ import annotations

import io
import json
from importlib.resources import files

import pytest
from udata.core.dataset.factories import DatasetFactory
from udata.core.user.factories import AdminFactory

from tests import OgpAPITestCase
from udata_ogp.factories import ActionPlanFactory, CommitmentFactory
from udata_ogp.models import ActionPlan, Commitment

BROWSER = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "fr-FR,fr;q=0.9",
}
REFERENCE = files("udata_ogp.data").joinpath("fr-action-plan-2018-2020.json").read_bytes()
SITE = "http://local.test"  # udata's Testing SERVER_NAME: the test client's origin
EVIL = "https://evil.example"


def directives(response) -> dict[str, str]:
    policy = response.headers.get("Content-Security-Policy", "")
    return {
        part.split()[0]: " ".join(part.split()[1:])
        for part in (p.strip() for p in policy.split(";"))
        if part
    }


class SecurityHeadersTest(OgpAPITestCase):
    @pytest.fixture(autouse=True)
    def _content(self):
        self.plan = ActionPlanFactory()
        self.commitment = CommitmentFactory(plan=self.plan)
        self.dataset = DatasetFactory()

    def assert_common(self, response, frame: str = "'self'") -> dict[str, str]:
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        policy = directives(response)
        assert policy["frame-ancestors"] == frame
        return policy

    def assert_page(self, response) -> None:
        assert response.mimetype == "text/html", response.data[:200]
        policy = self.assert_common(response)
        assert policy["default-src"] == "'none'"
        assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
        assert policy["style-src"] == "'self'"
        assert "script-src" not in policy  # falls back to default-src 'none': no script at all
        assert response.headers["X-Frame-Options"] == "SAMEORIGIN"

    def assert_data(self, response, mimetype: str, charset: str | None = None) -> None:
        assert response.mimetype == mimetype
        if charset:
            assert response.mimetype_params.get("charset") == charset
        policy = self.assert_common(response)
        assert policy["default-src"] == "'none'"
        assert "sandbox" in policy
        assert "style-src" not in policy

    def test_pages(self):
        for url in (
            "/ogp/",
            f"/ogp/plans/{self.plan.slug}/",
            f"/ogp/commitments/{self.commitment.slug}/",
            f"/ogp/datasets/{self.dataset.id}/",
        ):
            response = self.client.get(url, headers=BROWSER)
            assert response.status_code == 200, url
            self.assert_page(response)
            # Every stylesheet the page loads is the plugin's own ('self'); no inline script.
            html = response.data.decode()
            assert "<script" not in html and " style=" not in html
            assert 'href="http' not in html.split("</head>")[0]

    def test_error_pages(self):
        for url in ("/ogp/nowhere", "/ogp/plans/no-such-plan/"):
            response = self.client.get(url, headers=BROWSER)
            assert response.status_code == 404
            self.assert_page(response)

    def test_feed_badge_and_exports(self):
        slug = self.plan.slug
        self.assert_data(self.client.get(f"/ogp/plans/{slug}/feed.atom"), "application/atom+xml")
        badge = self.client.get(f"/ogp/datasets/{self.dataset.id}/badge.svg")
        self.assert_data(badge, "image/svg+xml")
        self.assert_data(self.client.get(f"/ogp/plans/{slug}/export.csv"), "text/csv", "utf-8")
        self.assert_data(self.client.get(f"/ogp/plans/{slug}/export.json"), "application/json")
        self.assert_data(self.client.get("/ogp/static/ogp.css"), "text/css")

    def test_api(self):
        self.assert_data(self.get("/api/1/ogp/plans/"), "application/json")
        self.assert_data(self.get("/api/1/ogp/plans/no-such-plan/"), "application/json")
        self.login(AdminFactory())
        csv = self.get(f"/api/1/ogp/plans/{self.plan.slug}/export/?format=csv")
        self.assert_data(csv, "text/csv", "utf-8")
        self.assert_data(self.get(f"/api/1/ogp/plans/{self.plan.slug}/export/"), "application/json")

    def test_other_routes_untouched(self):
        response = self.get("/api/1/datasets/")
        assert response.status_code == 200
        assert "Content-Security-Policy" not in response.headers

    def test_frame_ancestors_setting(self):
        self.app.config["OGP_FRAME_ANCESTORS"] = "'self' https://embed.example"
        self.app.config["OGP_REFERRER_POLICY"] = "no-referrer"
        response = self.client.get("/ogp/", headers=BROWSER)
        assert directives(response)["frame-ancestors"] == "'self' https://embed.example"
        assert "X-Frame-Options" not in response.headers  # no legacy form for a list
        assert response.headers["Referrer-Policy"] == "no-referrer"
        self.app.config["OGP_FRAME_ANCESTORS"] = "'none'"
        assert self.client.get("/ogp/", headers=BROWSER).headers["X-Frame-Options"] == "DENY"


class CrossSiteWritesTest(OgpAPITestCase):
    """udata's API is CSRF-exempt: the plugin refuses cookie-authenticated cross-site writes."""

    def import_multipart(self, headers: dict):
        return self.client.post(
            "/api/1/ogp/plans/import/",
            data={"file": (io.BytesIO(REFERENCE), "plan.json")},
            headers=headers,
            content_type="multipart/form-data",
        )

    def create_plan(self, headers: dict):
        # A title of its own each time: the test is about origins, not slugs.
        body = json.dumps({"country": "FR", "title": f"Plan {ActionPlan.objects.count() + 2030}"})
        return self.client.post(
            "/api/1/ogp/plans/",
            data=body,
            headers={"Content-Type": "application/json", **headers},
        )

    def test_session_multipart_import_from_foreign_origin_refused(self):
        self.login(AdminFactory())
        response = self.import_multipart({"Origin": EVIL})
        assert response.status_code == 403, response.json
        assert "Origin" in response.json["message"] and EVIL in response.json["message"]
        assert ActionPlan.objects.count() == 0 and Commitment.objects.count() == 0

    def test_session_json_write_from_foreign_referer_refused(self):
        self.login(AdminFactory())
        response = self.create_plan({"Referer": f"{EVIL}/page"})
        assert response.status_code == 403, response.json
        assert "Referer" in response.json["message"]
        assert self.create_plan({"Origin": "null"}).status_code == 403
        assert ActionPlan.objects.count() == 0

    def test_session_write_from_same_origin_or_trusted_front(self):
        self.login(AdminFactory())
        assert self.import_multipart({"Origin": SITE}).status_code == 201
        assert self.create_plan({"Referer": f"{SITE}/ogp/"}).status_code == 201
        # Behind a proxy that terminates TLS, the app may see http: the host decides.
        assert self.create_plan({"Origin": "https://local.test"}).status_code == 201
        assert self.create_plan({"Origin": "https://local.test.evil.example"}).status_code == 403
        self.app.config["CDATA_BASE_URL"] = "https://www.portal.example"
        assert self.create_plan({"Origin": "https://www.portal.example"}).status_code == 201
        # Scripts send neither header: not a browser's cross-site request.
        response = self.client.post(
            "/api/1/ogp/plans/",
            data=json.dumps({"country": "FR", "title": "Plan 3000"}),
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 201

    def test_session_write_with_csrf_token_allowed(self):
        self.login(AdminFactory())
        token = self.client.get("/get-csrf").json["response"]["csrf_token"]
        response = self.create_plan({"Origin": EVIL, "X-CSRFToken": token})
        assert response.status_code == 201, response.json
        assert self.create_plan({"Origin": EVIL, "X-CSRFToken": "forged"}).status_code == 403

    def test_api_key_unaffected(self):
        with self.api_user(AdminFactory()):
            response = self.import_multipart({"Origin": EVIL, "X-API-KEY": self._api_key})
        assert response.status_code == 201, response.json

    def test_reads_unaffected(self):
        self.login(AdminFactory())
        assert self.client.get("/api/1/ogp/plans/", headers={"Origin": EVIL}).status_code == 200
