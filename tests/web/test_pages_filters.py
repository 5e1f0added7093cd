"""The plan page's filters never lead to nothing: each value offered shows its count, and is right.

The content is the France 2018-2020 plan, four commitments put in axes 1 and 2, and an extra axis
that has no commitment (like axes 3 to 5).
"""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urlencode

import pytest

from tests import OgpAPITestCase
from tests.web.test_pages import BROWSER_HEADERS, build_france_plan, check_accessibility
from udata_ogp.models import ActionPlan, Axis, Commitment

EMPTY_AXIS = "Un axe sans engagement"
OPTION = re.compile(r'<option value="([^"]*)"[^>]*>([^<]*)</option>')


def select_options(html: str, name: str) -> list[tuple[str, str]]:
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, name
    return [(unescape(value), unescape(text)) for value, text in OPTION.findall(select.group(1))]


class PlanFiltersTest(OgpAPITestCase):
    @pytest.fixture(autouse=True)
    def _content(self, app):
        self.data = build_france_plan()
        plan = self.data["plan"]
        number = max(axis.number for axis in plan.axes) + 1
        ActionPlan.objects(id=plan.id).update_one(push__axes=Axis(number=number, title=EMPTY_AXIS))
        self.empty_axis = number
        # The plan file assigns no commitment to an axis: put a few in axes 1 and 2.
        Commitment.objects(plan=plan, number__in=[1, 2, 5]).update(set__axis=1)
        Commitment.objects(plan=plan, number=3).update(set__axis=2)
        self.url = f"/ogp/plans/{plan.slug}/"

    def get(self, lang: str = "fr", **filters: str) -> str:
        query = urlencode({**filters, "lang": lang})
        response = self.client.get(f"{self.url}?{query}", headers=BROWSER_HEADERS)
        assert response.status_code == 200
        html = response.data.decode()
        check_accessibility(html, lang)
        return html

    def shown(self, html: str) -> int:
        return html.count('class="ogp-commitment"')

    def check_every_option(self, base: dict[str, str]) -> int:
        """Each value offered, added to `base`, shows as many commitments as its count says."""
        html = self.get(**base)
        checked = 0
        for name in ("status", "axis", "lead", "area", "health"):
            for value, text in select_options(html, name):
                if not value:
                    continue
                count = re.search(r"\((\d+)\)$", text)
                assert count, f"{name}={value} shows no count: {text!r}"
                assert int(count.group(1)) > 0 or base.get(name) == value, (name, value, text)
                shown = self.shown(self.get(**{**base, name: value}))
                assert shown == int(count.group(1)), (name, value, text, shown)
                checked += 1
        return checked

    def test_every_value_offered_shows_what_it_counts(self):
        assert self.check_every_option({}) > 20

    def test_counts_keep_the_other_filters(self):
        html = self.get(status="substantial")
        leads = select_options(html, "lead")
        everything = select_options(self.get(), "lead")
        assert 0 < len(leads) < len(everything)
        self.check_every_option({"status": "substantial"})

    def test_axis_without_commitment_is_not_offered(self):
        html = self.get()
        assert str(self.empty_axis) not in [value for value, _text in select_options(html, "axis")]
        # Listed with the plan's axes, but not a link to an empty list.
        assert EMPTY_AXIS in html
        assert f"axis={self.empty_axis}" not in html
        assert "(0 engagement)" in html
        offered = [value for value, _text in select_options(html, "axis") if value]
        assert offered == ["1", "2"]
        assert "(3 engagements)" in html and "(1 engagement)" in html

    def test_chosen_value_stays_selected_when_nothing_matches(self):
        html = self.get(lead="Personne")
        assert self.shown(html) == 0
        assert ("Personne", "Personne (0)") in select_options(html, "lead")
        assert 'value="Personne" lang="fr" selected' not in html  # French page: no lang needed
        assert 'value="Personne" selected' in html

    def test_english_page_names_policy_areas_in_english(self):
        html = self.get("en")
        areas = dict(select_options(html, "area"))
        assert areas["Gérance des données et confidentialité"] == "Data Stewardship and Privacy (1)"
        # Lead institutions are French names, the axes have no English title: marked so.
        for name in ("lead", "axis"):
            select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S)
            assert re.search(r'<option value="[^"]*" lang="fr"', select.group(1)), name
