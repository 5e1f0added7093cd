"""The pages in a real browser: axe-core finds no violation, and nothing scrolls sideways at 320 px.

Debian's `chromium` is driven by Playwright (`executable_path`, no browser download) and axe-core
comes inside `axe-playwright-python`. Every request that does not go to the test server is
aborted, so the check runs offline like CI and a page that needs the network would show it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from flask import current_app
from udata.core.dataset.factories import DatasetFactory
from udata.core.user.factories import AdminFactory

from tests import OgpAPITestCase
from tests.web import test_browser
from tests.web.test_browser import CHROMIUM_FLAGS, chromium
from tests.web.test_pages import C5_TITLE, DVF, build_france_plan, compile_catalogues
from tests.web.test_pages_delivery import add_deliverables
from udata_ogp.factories import ProposalFactory
from udata_ogp.models import Deliverable
from udata_ogp.targets import snapshot_of

compile_catalogues()

# axe's WCAG 2.x A/AA rules and its best practices (landmarks, headings, regions).
AXE_OPTIONS = {
    "resultTypes": ["violations"],
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
}
SMALL = {"width": 320, "height": 800}


def _violations(results) -> list[str]:
    lines = []
    for violation in results.response["violations"]:
        for node in violation["nodes"]:
            lines.append(f"{violation['id']}: {node['target']} {node.get('failureSummary', '')}")
    return lines


class AccessibilityTest(OgpAPITestCase):
    # The running app, from the browser test (one place for the live server).
    server = test_browser.BrowserTest.server

    @pytest.fixture
    def browser(self) -> Iterator:
        # Fails rather than skips without it, like the other browser test: CI installs it.
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium(),
                headless=True,
                # Playwright adds its own headless switch.
                args=[flag for flag in CHROMIUM_FLAGS if flag != "--headless"],
            )
            yield browser
            browser.close()

    @pytest.fixture
    def open_page(self, browser, server):
        contexts = []

        def open_page(
            path: str,
            viewport: dict | None = None,
            cookies: list | None = None,
            javascript: bool = True,
        ):
            context = browser.new_context(
                viewport=viewport or {"width": 1280, "height": 900},
                java_script_enabled=javascript,
            )
            contexts.append(context)
            if cookies:
                context.add_cookies([{**cookie, "url": server} for cookie in cookies])
            outside = []

            def offline(route):
                if route.request.url.startswith(server):
                    route.continue_()
                else:
                    outside.append(route.request.url)
                    route.abort()

            context.route("**/*", offline)
            page = context.new_page()
            response = page.goto(f"{server}{path}", wait_until="load")
            assert not outside, f"{path} asked the network: {outside}"
            return page, response

        yield open_page
        for context in contexts:
            context.close()

    def axe(self, page) -> list[str]:
        from axe_playwright_python.sync_playwright import Axe

        return _violations(Axe().run(page, options=AXE_OPTIONS))

    def signed_in(self, user) -> list[dict]:
        """The session cookie of `user`, as Flask-Login writes it after udata's sign-in."""
        app = current_app._get_current_object()
        serializer = app.session_interface.get_signing_serializer(app)
        value = serializer.dumps({"_user_id": user.get_id(), "_fresh": True})
        return [{"name": app.config["SESSION_COOKIE_NAME"], "value": value}]

    @pytest.fixture(params=[True, False], ids=["dsfr", "own-css"])
    def stylesheet(self, request, monkeypatch) -> bool:
        """With the DSFR stylesheet when the install fetched it, and with the plugin's CSS alone."""
        from udata_ogp.web import blueprint

        if request.param and not blueprint._dsfr_available():
            # CI fetches it (scripts/setup.sh): there, half the check must not vanish silently.
            if os.environ.get("CI"):
                pytest.fail("DSFR not fetched (scripts/fetch-dsfr.sh), which CI installs")
            pytest.skip("DSFR not fetched (scripts/fetch-dsfr.sh)")
        monkeypatch.setattr(blueprint, "_dsfr_available", lambda: request.param)
        return request.param

    def test_axe_finds_no_violation(self, open_page, stylesheet):
        # Commitment 5 also has a deliverable in every state, a proof, a hidden match.
        data = add_deliverables(build_france_plan())
        plan, c5, dvf = data["plan"], data["c5"], data["dvf"]
        pages = [
            ("/ogp/", 200),
            (f"/ogp/plans/{plan.slug}/", 200),
            (f"/ogp/plans/{plan.slug}/?status=substantial&health=stale", 200),
            (f"/ogp/plans/{plan.slug}/?verification=claimed_not_verified", 200),
            (f"/ogp/commitments/{c5.slug}/", 200),
            (f"/ogp/datasets/{dvf.id}/", 200),
            ("/ogp/nowhere/", 404),
        ]
        found = {}
        for lang in ("fr", "en"):
            for path, status in pages:
                url = f"{path}{'&' if '?' in path else '?'}lang={lang}"
                page, response = open_page(url)
                assert response.status == status, url
                found[url] = self.axe(page)
        # The review queue: one proposal waiting (its form), one decided.
        deliverable = Deliverable.objects(commitment=c5, rules__ne=None).first()
        for title, state in (("Valeurs foncières 2020", "open"), ("DVF brut", "rejected")):
            proposed = DatasetFactory(title=title, organization=data["dgfip"])
            ProposalFactory(
                deliverable=deliverable,
                target=proposed,
                snapshot=snapshot_of(proposed),
                reasons=["similar_title"],
                state=state,
                reason="Pas le bon millésime" if state == "rejected" else None,
            )
        # The producer's forms (link a dataset, remove a link), the editor's status form and
        # review queue.
        for user, path in (
            (data["producer"], f"/ogp/commitments/{c5.slug}/"),
            (data["producer"], f"/ogp/datasets/{dvf.id}/"),
            (data["editor"], f"/ogp/commitments/{c5.slug}/"),
            (data["editor"], f"/ogp/commitments/{c5.slug}/proposals/"),
            (AdminFactory(), f"/ogp/plans/{plan.slug}/"),
        ):
            for lang in ("fr", "en"):
                url = f"{path}?lang={lang}"
                page, response = open_page(url, cookies=self.signed_in(user))
                assert response.status == 200, url
                assert user.first_name in page.content(), "the cookie did not sign in"
                found[f"{url} ({user.first_name})"] = self.axe(page)
        failing = {url: lines for url, lines in found.items() if lines}
        report = "\n".join(f"{url}\n  " + "\n  ".join(lines) for url, lines in failing.items())
        assert not failing, report

    def test_small_screens(self, open_page, stylesheet):
        """320 px: no sideways scrolling, chart labels of at least 12 px, tables scroll in a
        region the keyboard reaches, milestone marks beside their numbers, not over them."""
        data = add_deliverables(build_france_plan())
        paths = [
            "/ogp/",
            f"/ogp/plans/{data['plan'].slug}/",
            f"/ogp/commitments/{data['c5'].slug}/",
        ]
        problems: dict[str, object] = {}
        seen = {"charts": 0, "tables": 0, "milestones": 0}
        for lang in ("fr", "en"):
            for path in paths:
                url = f"{path}?lang={lang}"
                page, _response = open_page(url, viewport=SMALL)
                width = page.evaluate("document.documentElement.scrollWidth")
                if width > SMALL["width"]:
                    problems[f"{url} width"] = width
                fonts = page.evaluate(SMALL_SCREEN_FONTS)
                seen["charts"] += len(fonts)
                if any(size < 12 for size in fonts):
                    problems[f"{url} chart labels (px)"] = fonts
                tables = page.evaluate(SMALL_SCREEN_TABLES)
                seen["tables"] += len(tables)
                if not all(tables):
                    problems[f"{url} tables"] = tables
                marks = page.evaluate(SMALL_SCREEN_MARKS)
                seen["milestones"] += len(marks)
                if not all(marks):
                    problems[f"{url} milestone marks"] = marks
        assert not problems
        assert all(seen.values()), seen

    def test_readable_without_javascript(self, open_page):
        data = build_france_plan()
        page, response = open_page(f"/ogp/commitments/{data['c5'].slug}/", javascript=False)
        assert response.status == 200
        text = page.inner_text("main")
        assert C5_TITLE in text and DVF in text
        plan, _response = open_page(f"/ogp/plans/{data['plan'].slug}/", javascript=False)
        assert plan.locator("#f-status").is_visible()
        assert C5_TITLE in plan.inner_text("main")


# Rendered size of the chart labels: font size times the SVG's scale.
SMALL_SCREEN_FONTS = """
[...document.querySelectorAll('svg.ogp-chart__svg')].flatMap(svg => {
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  return [...svg.querySelectorAll('.ogp-chart__label')].map(
    label => Math.round(scale * parseFloat(getComputedStyle(label).fontSize) * 10) / 10);
})
"""
# Each table inside a labelled, focusable region that scrolls sideways.
SMALL_SCREEN_TABLES = """
[...document.querySelectorAll('main table')].map(table => {
  const wrap = table.closest('.table-wrap');
  return !!wrap && wrap.getAttribute('role') === 'region' && wrap.tabIndex === 0
    && !!wrap.getAttribute('aria-label') && getComputedStyle(wrap).overflowX === 'auto'
    && wrap.getBoundingClientRect().right <= document.documentElement.clientWidth;
})
"""
# A milestone's mark ends left of its text, and no list number is drawn under the mark.
SMALL_SCREEN_MARKS = """
[...document.querySelectorAll('.ogp-timeline__item')].map(item => {
  const mark = getComputedStyle(item, '::before');
  const box = item.getBoundingClientRect();
  const right = box.left + parseFloat(mark.left) + parseFloat(mark.width)
    + parseFloat(mark.borderLeftWidth) + parseFloat(mark.borderRightWidth);
  const when = item.querySelector('.ogp-timeline__when').getBoundingClientRect();
  return right <= when.left && getComputedStyle(item, '::marker').content === 'none';
})
"""
