"""Headless Chromium against the running app: the commitment page shows its datasets; a demo
producer signs in through udata's login form and links a dataset with the page's form.

The app is served by werkzeug in a thread of the test process (the embedded database lives in
this process). CI installs Debian's `chromium`; without it these tests fail on purpose. The
sign-in test drives it with Playwright (the Python package, on Debian's browser: Playwright's own
browser download is never used).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from markupsafe import escape
from playwright.sync_api import expect, sync_playwright

from tests import OgpAPITestCase
from tests.servers import serve_app
from tests.web.test_pages import C5_TITLE, DPE, DVF, EXPECTED, GONE, build_france_plan
from udata_ogp.demo import DEMO_COOKIE_SETTINGS, load_demo_content
from udata_ogp.models import ActionPlan, Commitment, CommitmentLink, Proposal

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("Debian's `chromium` is needed: apt-get install -y chromium chromium-driver")
    return path


@contextmanager
def signed_in_page(page_url: str, account, before=None) -> Iterator:
    """A French Chromium page on `page_url`, signed in through udata's login form by the page's
    own sign-in link; `before(page)` runs on the page as the visitor first sees it."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium(), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            page = browser.new_page(locale="fr-FR")
            page.set_default_timeout(60_000)
            page.goto(page_url)
            if before is not None:
                before(page)
            page.get_by_role("link", name="Se connecter pour lier vos données").click()
            page.wait_for_url(re.compile(r"/login/"))
            page.fill("input[name=email]", account.email)
            page.fill("input[name=password]", account.password)
            page.locator("form[action*='/login/'] button[type=submit]").click()
            page.wait_for_url(page_url)
            yield page
        finally:
            browser.close()


class BrowserTest(OgpAPITestCase):
    @pytest.fixture
    def server(self, app) -> Iterator[str]:
        with serve_app(app) as base:
            yield base

    def run_chromium(self, tmp_path, *args: str) -> subprocess.CompletedProcess:
        profile = tmp_path / "profile"
        profile.mkdir(exist_ok=True)
        return subprocess.run(
            [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )

    def test_commitment_page_in_chromium(self, server, tmp_path):
        data = build_france_plan()
        url = f"{server}/ogp/commitments/{data['c5'].slug}/"

        dom = self.run_chromium(tmp_path, "--dump-dom", url)
        assert dom.returncode == 0, dom.stderr[-2000:]
        html = dom.stdout
        assert C5_TITLE in html
        for title in (DVF, DPE, EXPECTED):
            assert title in html
        assert str(escape(GONE)) in html or GONE in html
        assert "mise à jour en retard" in html

        shot = tmp_path / "commitment.png"
        result = self.run_chromium(
            tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", "--hide-scrollbars", url
        )
        assert result.returncode == 0, result.stderr[-2000:]
        assert shot.exists()
        data_png = shot.read_bytes()
        assert data_png.startswith(b"\x89PNG")
        assert len(data_png) > 20_000, "a blank page would be a few kilobytes"
        print(f"screenshot: {shot}")


class DemoSignInBrowserTest(OgpAPITestCase):
    """The demo's settings (plain-http cookies) with CSRF on, as the demo serves them."""

    def get_settings(self, request):
        base = super().get_settings(request)
        return type("OgpDemoBrowser", (base,), {**DEMO_COOKIE_SETTINGS, "WTF_CSRF_ENABLED": True})

    @pytest.fixture
    def server(self, app) -> Iterator[str]:
        with serve_app(app) as base:
            yield base

    def test_producer_signs_in_and_links_a_dataset_in_chromium(self, server, tmp_path):
        content = load_demo_content()
        producer = content.accounts[1]
        plan = ActionPlan.objects.get(slug=content.plan_slug)
        commitment = Commitment.objects.get(plan=plan, number=8)
        page_url = f"{server}/ogp/commitments/{commitment.slug}/"
        from udata.models import Dataset

        dataset = Dataset.objects.get(slug="enquete-sur-le-hackathon-datafin-de-juin-2018")

        with signed_in_page(page_url, producer) as page:
            expect(page.locator("header")).to_contain_text("Paul Producteur")

            form = page.locator("form[action$='/links']")
            form.locator("select[name=target]").select_option(f"Dataset:{dataset.id}")
            form.locator("select[name=role]").select_option("contributes")
            form.locator("textarea[name=note], input[name=note]").fill("Hackathon 2018")
            form.locator("button[type=submit]").click()
            page.wait_for_url(re.compile(re.escape(page_url)))
            expect(page.locator(".ogp-messages")).to_contain_text("Le lien a été ajouté.")
            expect(page.locator("main")).to_contain_text("Hackathon 2018")
            page.screenshot(path=str(tmp_path / "signed-in.png"), full_page=True)

        link = CommitmentLink.objects.get(commitment=commitment, target_id=dataset.id)
        assert link.linked_by.email == producer.email
        assert link.role == "contributes"

    def test_editor_rejects_a_proposal_from_the_review_queue_in_chromium(self, server, tmp_path):
        content = load_demo_content()
        producer = content.accounts[1]
        commitment = Commitment.objects.get(slug=content.review_commitment)
        [proposal] = Proposal.objects(commitment=commitment, state="open")
        page_url = f"{server}/ogp/commitments/{commitment.slug}/"
        queue_url = f"{page_url}proposals/"

        def as_a_visitor(page) -> None:
            # Visitors do not see the queue's door.
            expect(page.locator("main h1")).to_be_visible()
            expect(page.locator(".ogp-review-summary")).to_have_count(0)

        with signed_in_page(page_url, producer, before=as_a_visitor) as page:
            page.get_by_role("link", name="1 proposition attend votre examen").click()
            page.wait_for_url(queue_url)
            item = page.locator(".ogp-proposal")
            expect(item).to_have_count(1)
            expect(item).to_contain_text(proposal.snapshot.title)
            item.locator("input[name=reason]").fill("Pas le bon millésime")
            item.get_by_role("button", name="Refuser").click()
            page.wait_for_url(queue_url)
            expect(page.locator(".ogp-messages")).to_contain_text("La proposition a été refusée")
            expect(page.locator(".ogp-proposal")).to_have_count(0)
            expect(page.locator("#decided-title")).to_have_text("Tranchées")
            expect(page.locator("main")).to_contain_text("Pas le bon millésime")
            page.screenshot(path=str(tmp_path / "review-queue.png"), full_page=True)

        proposal.reload()
        assert (proposal.state, proposal.reason) == ("rejected", "Pas le bon millésime")
        assert proposal.decided_by.email == producer.email
