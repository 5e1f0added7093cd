"""A page form sent with a broken rule: the page again, the error at the field, the values kept.

Signed-in producers and editors post as a browser does (its `Accept` header, CSRF off here:
tests/web/test_pages.py checks it is on). Each error must be next to its field (`aria-invalid`,
`aria-describedby`), listed in a summary that is announced and focused without JavaScript, and
worded with the labels visitors read, never the rules' internal names or codes.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from flask import session
from flask_security import login_user
from udata.core.dataset.factories import DatasetFactory

from tests import OgpAPITestCase
from tests.web import test_browser
from tests.web.test_pages import build_france_plan, check_accessibility
from udata_ogp.actions import create_link
from udata_ogp.errors import InvalidInput
from udata_ogp.models import Commitment, CommitmentLink

BROWSER = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "*/*;q=0.8"
}
CODES = ("fulfils", "contributes", "evidence", "related", "not_started", "substantial", "complete")


class FormPage(HTMLParser):
    """The elements of a page by id, their text, and each select's selected options."""

    def __init__(self, html: str):
        super().__init__()
        self.attrs: dict[str, dict] = {}
        self.text: dict[str, str] = {}
        self.selected: dict[str, list[str]] = {}
        self.summaries: list[dict] = []
        self._open: list[tuple[str, str | None]] = []
        self._select: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        ident = attrs.get("id")
        if ident:
            self.attrs[ident] = {"tag": tag, **attrs}
            self.text.setdefault(ident, "")
        if attrs.get("role") == "alert":
            self.summaries.append(attrs)
        if tag == "select":
            self._select = ident
            self.selected[ident] = []
        if tag == "option" and self._select and "selected" in attrs:
            self.selected[self._select].append(attrs.get("value"))
        if tag not in ("input", "option", "br", "img", "meta", "link"):
            self._open.append((tag, ident))

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        while self._open:
            opened, _ident = self._open.pop()
            if opened == tag:
                break

    def handle_data(self, data):
        for _tag, ident in self._open:
            if ident:
                self.text[ident] += data

    def described(self, control: str) -> str:
        """The text a screen reader adds to a control from its `aria-describedby`."""
        ids = self.attrs[control].get("aria-describedby", "").split()
        assert ids, f"{control} has no aria-describedby"
        return " ".join(self.text[i].strip() for i in ids)


class FormErrorsTest(OgpAPITestCase):
    @pytest.fixture(autouse=True)
    def _content(self, app):
        self.data = build_france_plan()
        self.c5 = self.data["c5"]
        self.mine = DatasetFactory(
            title="Valeurs foncières agrégées", organization=self.data["dgfip"]
        )

    def commitment_url(self) -> str:
        return f"/ogp/commitments/{self.c5.slug}/"

    def dataset_url(self) -> str:
        return f"/ogp/datasets/{self.mine.id}/"

    def post(self, url: str, data: dict, status: int, lang: str = "fr") -> tuple[str, FormPage]:
        response = self.client.post(f"{url}?lang={lang}", data=data, headers=BROWSER)
        assert response.status_code == status, response.data[:3000]
        assert response.content_type.startswith("text/html")
        html = response.data.decode()
        check_accessibility(html, lang)
        return html, FormPage(html)

    def assert_field_error(self, page: FormPage, form: str, control: str, message: str) -> None:
        """The control is at fault, tied to its message, and the summary leads to it."""
        attrs = page.attrs[control]
        assert attrs.get("aria-invalid") == "true"
        assert page.described(control) == message
        error = page.attrs[attrs["aria-describedby"]]
        assert "fr-error-text" in error["class"]
        summary = page.attrs[f"{form}-errors"]
        assert summary["role"] == "alert" and summary["tabindex"] == "-1"
        assert "autofocus" in summary
        assert [s["id"] for s in page.summaries] == [f"{form}-errors"], "one summary, this form's"
        assert message in page.text[f"{form}-errors"]
        for code in CODES:
            assert f"'{code}'" not in page.text[f"{form}-errors"]

    def assert_links_to(self, html: str, form: str, control: str) -> None:
        start = html.index(f'id="{form}-errors"')
        assert f'href="#{control}"' in html[start : html.index("</div>", start)]

    # -- The commitment page's link form --------------------------------------------------------

    def test_link_form_unknown_role(self):
        self.login(self.data["producer"])
        html, page = self.post(
            self.commitment_url() + "links",
            {"target": f"Dataset:{self.mine.id}", "role": "bogus", "note": "Agrégats DVF."},
            400,
        )
        expected = (
            "Rôle inconnu 'bogus' ; valeurs possibles : Remplit l’engagement, Y contribue, "
            "Preuve d’avancement, En rapport."
        )
        self.assert_field_error(page, "link", "link-role", expected)
        self.assert_links_to(html, "link", "link-role")
        # The summary names the field by its label.
        assert f"Rôle : {expected}" in page.text["link-errors"]
        # What was typed and chosen is kept.
        assert page.text["link-note"] == "Agrégats DVF."
        assert page.selected["link-target"] == [f"Dataset:{self.mine.id}"]
        assert page.attrs["link-note"].get("aria-invalid") is None
        assert CommitmentLink.objects(target_id=self.mine.id).count() == 0

    def test_link_form_without_target(self):
        self.login(self.data["producer"])
        html, page = self.post(
            self.commitment_url() + "links",
            {"target": "", "role": "evidence", "milestone": "5.1", "note": "Agrégats"},
            400,
        )
        self.assert_field_error(
            page, "link", "link-target", "Choisissez un jeu de données ou une réutilisation."
        )
        self.assert_links_to(html, "link", "link-target")
        assert page.selected["link-role"] == ["evidence"]
        assert page.selected["link-milestone"] == ["5.1"]
        assert page.selected["link-target"] == []

    def test_link_form_unknown_milestone_in_english(self):
        self.login(self.data["producer"])
        _html, page = self.post(
            self.commitment_url() + "links",
            {"target": f"Dataset:{self.mine.id}", "role": "related", "milestone": "9.9"},
            400,
            lang="en",
        )
        self.assert_field_error(
            page, "link", "link-milestone", "Commitment 5 has no milestone '9.9'."
        )
        assert "Milestone served (optional): " in page.text["link-errors"]

    def test_link_form_conflict_names_the_role_by_its_label(self):
        self.login(self.data["producer"])
        create_link(self.c5, target_class="Dataset", target_id=self.mine.id, role="evidence")
        _html, page = self.post(
            self.commitment_url() + "links",
            {"target": f"Dataset:{self.mine.id}", "role": "evidence", "note": "Encore"},
            409,
        )
        summary = page.text["link-errors"]
        assert "avec le rôle “Preuve d’avancement”" in summary
        assert "'evidence'" not in summary
        # A form-level error: no control is at fault.
        assert page.attrs["link-target"].get("aria-invalid") is None
        assert page.text["link-note"] == "Encore"

    def test_picker_preselects_nothing(self):
        self.login(self.data["producer"])
        response = self.client.get(self.commitment_url(), headers=BROWSER)
        page = FormPage(response.data.decode())
        assert page.selected["link-target"] == []
        assert "required" in page.attrs["link-target"]
        assert 'value="">Choisissez…</option>' in response.data.decode()
        assert not page.summaries
        assert page.attrs["link-role"].get("aria-invalid") is None
        response = self.client.get(self.dataset_url(), headers=BROWSER)
        page = FormPage(response.data.decode())
        assert page.selected["link-commitment"] == []

    # -- The status form ------------------------------------------------------------------------

    def test_status_form_unknown_status(self):
        self.login(self.data["editor"])
        html, page = self.post(
            self.commitment_url() + "status",
            {"status": "bogus", "rationale": "Réseau animé.", "evidence_url": "https://x.fr/"},
            400,
        )
        labels = "Non commencé, Limité, Substantiel, Achevé"
        expected = f"Statut inconnu 'bogus' ; valeurs possibles : {labels}."
        self.assert_field_error(page, "status", "status-status", expected)
        self.assert_links_to(html, "status", "status-status")
        assert page.text["status-rationale"] == "Réseau animé."
        assert page.attrs["status-evidence_url"]["value"] == "https://x.fr/"
        assert Commitment.objects.get(id=self.c5.id).status == "substantial"

    def test_status_form_rationale_and_evidence(self):
        self.login(self.data["editor"])
        _html, page = self.post(
            self.commitment_url() + "status", {"status": "complete", "rationale": "  "}, 400
        )
        self.assert_field_error(
            page, "status", "status-rationale", "Une justification est requise."
        )
        assert "Justification : " in page.text["status-errors"]
        assert page.selected["status-status"] == ["complete"]
        _html, page = self.post(
            self.commitment_url() + "status",
            {"status": "complete", "rationale": "Fait.", "evidence_url": "ftp://x.fr/"},
            400,
        )
        self.assert_field_error(
            page,
            "status",
            "status-evidence_url",
            "L’adresse du justificatif doit être une URL http(s).",
        )
        assert "Adresse du justificatif (facultatif) : " in page.text["status-errors"]

    # -- The dataset page's link form -----------------------------------------------------------

    def test_dataset_form_without_commitment(self):
        self.login(self.data["producer"])
        html, page = self.post(
            self.dataset_url() + "links",
            {"commitment": "", "role": "contributes", "note": "DVF+"},
            400,
        )
        self.assert_field_error(page, "link", "link-commitment", "Choisissez un engagement.")
        self.assert_links_to(html, "link", "link-commitment")
        assert page.selected["link-role"] == ["contributes"]
        assert page.text["link-note"] == "DVF+"

    def test_dataset_form_unknown_role(self):
        self.login(self.data["producer"])
        _html, page = self.post(
            self.dataset_url() + "links",
            {"commitment": str(self.c5.id), "role": "bogus"},
            400,
        )
        assert page.attrs["link-role"].get("aria-invalid") == "true"
        assert "Remplit l’engagement" in page.described("link-role")
        assert page.selected["link-commitment"] == [str(self.c5.id)]

    # -- Any rule, any field --------------------------------------------------------------------

    @pytest.mark.parametrize(
        "error",
        [
            {"message": "note: at most 10 characters.", "field": "note"},
            {"message": "The field 'note' has at most 10 characters.", "field": "note"},
            {"message": "%(field)s: at most 10.", "field": "note", "params": {"field": "note"}},
        ],
    )
    def test_a_rules_error_names_the_field_by_its_label(self, monkeypatch, error):
        """A rule naming a field by its internal name (`note`) reads with its label on pages."""

        def refuse(*args, **kwargs):
            raise InvalidInput(**error)

        monkeypatch.setattr("udata_ogp.web.forms.create_link", refuse)
        self.login(self.data["producer"])
        _html, page = self.post(
            self.commitment_url() + "links",
            {"target": f"Dataset:{self.mine.id}", "note": "Beaucoup trop long"},
            400,
        )
        message = page.described("link-note")
        assert "note" not in message.replace("Pourquoi ce lien ?", "")
        assert "10" in message
        assert page.text["link-errors"].count("Pourquoi ce lien ?") >= 1
        assert page.text["link-note"] == "Beaucoup trop long"

    def test_an_unknown_field_is_shown_by_its_name(self, monkeypatch):
        def refuse(*args, **kwargs):
            raise InvalidInput("at most 3 values.", field="tags")

        monkeypatch.setattr("udata_ogp.web.forms.create_link", refuse)
        self.login(self.data["producer"])
        html, page = self.post(
            self.commitment_url() + "links", {"target": f"Dataset:{self.mine.id}"}, 400
        )
        assert "tags : at most 3 values." in page.text["link-errors"]
        assert 'href="#link-tags"' not in html

    # -- The page shown again is the GET page ---------------------------------------------------

    def test_page_links_lead_back_to_the_get_page(self):
        self.login(self.data["producer"])
        html, _page = self.post(
            self.commitment_url() + "links", {"target": "", "role": "related"}, 400
        )
        assert f'href="{self.commitment_url()}?lang=en"' in html
        assert "links?lang" not in html
        # Signing out comes back to the GET page, not to the form's address.
        assert f'/logout/?next={quote(self.commitment_url(), safe="")}"' in html
        assert f"next={quote(self.commitment_url(), safe='')}links" not in html
        assert f'name="next" value="{self.commitment_url()}"' in html

    def test_not_allowed_is_a_403_page_that_signs_in_back_to_the_page(self):
        # Signed out: the plugin's 403 page says why; signing in comes back to the GET page.
        html, _page = self.post(
            self.commitment_url() + "links", {"target": f"Dataset:{self.mine.id}"}, 403
        )
        assert "Vous ne pouvez pas lier cet objet à cet engagement." in html
        assert f'/login/?next={quote(self.commitment_url(), safe="")}"' in html
        assert "links?lang" not in html and f"next={self.commitment_url()}links" not in html
        # Another user's link: not theirs to remove.
        self.login(self.data["producer"])
        dpe_link = CommitmentLink.objects(target_id=self.data["dpe"].id).first()
        html, _page = self.post(f"/ogp/links/{dpe_link.id}/delete", {}, 403)
        assert "Vous ne pouvez pas retirer ce lien." in html
        assert CommitmentLink.objects(id=dpe_link.id).first() is not None

    def test_success_still_redirects(self):
        self.login(self.data["producer"])
        response = self.client.post(
            self.commitment_url() + "links",
            data={"target": f"Dataset:{self.mine.id}", "role": "evidence"},
            headers=BROWSER,
        )
        assert response.status_code == 303
        assert response.headers["Location"].endswith(self.commitment_url())


class FormErrorsInChromiumTest(OgpAPITestCase):
    """In a real browser, without JavaScript of the plugin's: the summary takes the focus."""

    server = test_browser.BrowserTest.server

    def test_focus_moves_to_the_summary(self, app, server):
        from playwright import sync_api  # a test dependency: pyproject.toml [test]

        data = build_france_plan()
        with app.test_request_context():
            # The producer's session cookie, as udata's login would set it.
            login_user(data["producer"])
            response = app.response_class()
            app.session_interface.save_session(app, session, response)
        name, _sep, value = response.headers["Set-Cookie"].split(";")[0].partition("=")
        url = f"{server}/ogp/commitments/{data['c5'].slug}/"
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=test_browser.chromium(),
                args=["--no-sandbox", "--disable-dev-shm-usage"],
            )
            try:
                context = browser.new_context(locale="fr-FR")
                context.add_cookies([{"name": name, "value": value, "url": server}])
                page = context.new_page()
                page.goto(url)
                # The browser's own check of `required` would stop an empty choice: a stale
                # page's choice (the dataset since deleted) is what the server refuses.
                page.select_option("#link-role", "evidence")
                page.fill("#link-note", "Agrégats DVF.")
                page.eval_on_selector("#link-target", "s => s.removeAttribute('required')")
                page.click("form[action$='/links'] button[type=submit]")
                page.wait_for_load_state()
                assert page.evaluate("document.activeElement.id") == "link-errors"
                assert page.get_attribute("#link-target", "aria-invalid") == "true"
                assert page.input_value("#link-note") == "Agrégats DVF."
                assert page.input_value("#link-role") == "evidence"
                page.click("#link-errors a[href='#link-target']")
                assert page.evaluate("document.activeElement.id") == "link-target"
            finally:
                browser.close()
