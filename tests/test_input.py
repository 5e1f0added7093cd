"""Bad input gets a 4xx naming the field, never a 500, never stored: API, page forms, JSON and
CSV imports; udata's own texts never break a feed, a page or an export; slugs never empty."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from importlib.resources import files

import pytest
from udata.core.api_token.models import ApiToken
from udata.core.dataset.factories import DatasetFactory
from udata.core.user.factories import AdminFactory

from tests import OgpAPITestCase
from udata_ogp import textrules
from udata_ogp.factories import ActionPlanFactory, CommitmentFactory, CommitmentLinkFactory
from udata_ogp.models import ActionPlan, Commitment, CommitmentLink
from udata_ogp.plans.csvfile import to_csv
from udata_ogp.plans.exporting import export_plan
from udata_ogp.plans.importing import ImportValidationError, import_plan

API = "/api/1/ogp"
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
REFERENCE = files("udata_ogp.data").joinpath("fr-action-plan-2018-2020.json").read_bytes()

LIMITS = {kind: textrules.LIMITS[setting] for kind, (setting, _m) in textrules.KINDS.items()}
# Refused in any text, one line or several.
BAD_CHARACTERS = {"vt": "a\x0bb", "ff": "a\x0cb", "nul": "a\x00b", "surrogate": "a\ud800b"}


def bad_values(kind: str) -> dict[str, str]:
    values = dict(BAD_CHARACTERS)
    values["too_long"] = "x" * (LIMITS[kind] + 1)
    if not textrules.KINDS[kind][1]:
        values["line_break"] = "a\r\nb"
    return values


def cases(kind: str, form: bool = False) -> list:
    # A browser cannot send a lone surrogate in a form (it is not encodable as UTF-8).
    return [
        pytest.param(value, id=name)
        for name, value in bad_values(kind).items()
        if not (form and name == "surrogate")
    ]


class InputTestCase(OgpAPITestCase):
    @pytest.fixture(autouse=True)
    def _content(self, app):
        self.app = app
        self.admin = AdminFactory()
        _, self.key = ApiToken.generate(self.admin)
        self.plan = ActionPlanFactory(title="Plan d'action 2018-2020")
        self.commitment = CommitmentFactory(plan=self.plan, number=1, title="Engagement 1")
        self.dataset = DatasetFactory(title="Demandes de valeurs foncières")

    def send(self, method: str, url: str, body, raw: bool = False, **headers):
        """A JSON body as a client sends it: `json.dumps` escapes a lone surrogate as \\ud800."""
        data = body if raw else json.dumps(body)
        return self.client.open(
            url,
            method=method,
            data=data,
            headers={"X-API-KEY": self.key, "Content-Type": "application/json", **headers},
        )

    def assert_refused(self, response, field: str, status: int = 400) -> None:
        assert response.status_code == status, (response.status_code, response.data[:300])
        body = response.json
        assert field in body["errors"], body
        if status == 400:
            assert body["message"].startswith(f"{field}: "), body


# ---------------------------------------------------------------------------------------------
# API
# ---------------------------------------------------------------------------------------------


class ApiTextTest(InputTestCase):
    @pytest.mark.parametrize("value", cases("title"))
    def test_plan_title(self, value):
        response = self.send("POST", f"{API}/plans/", {"country": "FR", "title": value})
        self.assert_refused(response, "title")
        assert ActionPlan.objects.count() == 1

    @pytest.mark.parametrize("value", cases("title"))
    def test_commitment_title(self, value):
        url = f"{API}/commitments/{self.commitment.slug}/"
        self.assert_refused(self.send("PUT", url, {"title": value}), "title")
        self.commitment.reload()
        assert self.commitment.title == "Engagement 1"

    @pytest.mark.parametrize("value", cases("title"))
    def test_milestone_title_is_named_by_its_path(self, value):
        url = f"{API}/commitments/{self.commitment.slug}/"
        body = {"milestones": [{"number": "1.1", "title": value}]}
        self.assert_refused(self.send("PUT", url, body), "milestones.0.title")
        self.commitment.reload()
        assert self.commitment.milestones == []

    @pytest.mark.parametrize("value", cases("text"))
    def test_long_text(self, value):
        url = f"{API}/commitments/{self.commitment.slug}/"
        self.assert_refused(self.send("PUT", url, {"ambition": value}), "ambition")

    @pytest.mark.parametrize("value", cases("text"))
    def test_free_facts(self, value):
        url = f"{API}/plans/{self.plan.slug}/"
        self.assert_refused(self.send("PUT", url, {"source": {"note": value}}), "source.note")

    @pytest.mark.parametrize("value", cases("url"))
    def test_url_list(self, value):
        url = f"{API}/commitments/{self.commitment.slug}/"
        response = self.send("PUT", url, {"urls": [value]})
        assert response.status_code == 400, response.json
        assert "urls" in next(iter(response.json["errors"]))

    @pytest.mark.parametrize(
        "field, value",
        [pytest.param("note", p.values[0], id=f"note-{p.id}") for p in cases("note")]
        + [pytest.param("title", p.values[0], id=f"title-{p.id}") for p in cases("title")],
    )
    def test_new_link(self, field, value):
        body = {"title": "Données attendues", field: value}
        url = f"{API}/commitments/{self.commitment.slug}/links/"
        self.assert_refused(self.send("POST", url, body), field)
        assert CommitmentLink.objects.count() == 0

    @pytest.mark.parametrize("value", cases("note"))
    def test_link_note_update(self, value):
        link = CommitmentLinkFactory(commitment=self.commitment, target=self.dataset, note="Ok")
        self.assert_refused(self.send("PUT", f"{API}/links/{link.id}/", {"note": value}), "note")
        link.reload()
        assert link.note == "Ok"

    @pytest.mark.parametrize("value", cases("note"))
    def test_status_rationale(self, value):
        url = f"{API}/commitments/{self.commitment.slug}/status/"
        body = {"status": "complete", "rationale": value}
        self.assert_refused(self.send("POST", url, body), "rationale")
        self.commitment.reload()
        assert self.commitment.status is None and self.commitment.status_history == []

    @pytest.mark.parametrize("value", cases("url"))
    def test_status_evidence_url(self, value):
        url = f"{API}/commitments/{self.commitment.slug}/status/"
        body = {
            "status": "complete",
            "rationale": "Fait.",
            "evidence_url": f"https://e.org/{value}",
        }
        self.assert_refused(self.send("POST", url, body), "evidence_url")
        self.commitment.reload()
        assert self.commitment.status_history == []

    def test_same_message_for_the_same_limit_everywhere(self):
        long_title = "x" * (LIMITS["title"] + 1)
        api = self.send("POST", f"{API}/plans/", {"country": "FR", "title": long_title}).json
        doc = json.loads(REFERENCE)
        doc["commitments"][3]["title"] = long_title
        with pytest.raises(ImportValidationError) as error:
            import_plan(json.dumps(doc).encode())
        imported = {p.pointer: p.message for p in error.value.problems}
        assert imported["/commitments/3/title"] == api["errors"]["title"][0].split(": ", 1)[1]


class ApiNumbersTest(InputTestCase):
    @pytest.mark.parametrize(
        "raw",
        [
            pytest.param("1.5", id="float"),
            pytest.param("1.0", id="float-integral"),
            pytest.param("true", id="boolean"),
            pytest.param(str(2**64), id="beyond-64-bits"),
            pytest.param("9" * 5000, id="5000-digits"),
            pytest.param("1e400", id="overflow"),
            pytest.param("NaN", id="nan"),
            pytest.param("-Infinity", id="infinity"),
        ],
    )
    def test_integer_field(self, raw):
        url = f"{API}/plans/{self.plan.slug}/"
        response = self.send("PUT", url, f'{{"commitments_stated": {raw}}}', raw=True)
        self.assert_refused(response, "commitments_stated")
        self.plan.reload()
        assert self.plan.commitments_stated is None

    def test_axis_of_a_commitment(self):
        url = f"{API}/commitments/{self.commitment.slug}/"
        self.assert_refused(self.send("PUT", url, {"axis": 1.5}), "axis")
        self.commitment.reload()
        assert self.commitment.axis is None

    @pytest.mark.parametrize("depth", [65, 5000, 100_000])
    def test_deep_json(self, depth):
        body = '{"title": ' + "[" * depth + "]" * depth + "}"
        response = self.send("POST", f"{API}/plans/", body, raw=True)
        self.assert_refused(response, "body")
        assert str(textrules.MAX_JSON_DEPTH) in response.json["message"]

    def test_deep_json_anonymous_too(self):
        # Before any authentication: Flask-Security parses JSON bodies looking for a token.
        body = "[" * 100_000 + "]" * 100_000
        response = self.client.post(
            f"{API}/plans/", data=body, headers={"Content-Type": "application/json"}
        )
        self.assert_refused(response, "body")

    def test_malformed_json_names_the_body(self):
        self.assert_refused(self.send("POST", f"{API}/plans/", "{", raw=True), "body")


class RequestSizeTest(InputTestCase):
    @pytest.fixture(autouse=True)
    def _small_limit(self, app):
        app.config["OGP_MAX_REQUEST_BYTES"] = 1000

    def test_api_body_too_large(self):
        response = self.send("POST", f"{API}/plans/", {"country": "FR", "title": "x" * 2000})
        self.assert_refused(response, "body", 413)
        assert "1000" in response.json["message"]
        assert ActionPlan.objects.count() == 1

    def test_import_too_large(self):
        response = self.send("POST", f"{API}/plans/import/", REFERENCE, raw=True)
        self.assert_refused(response, "body", 413)
        assert ActionPlan.objects.count() == 1

    def test_page_form_too_large(self):
        self.login(self.admin)
        response = self.client.post(
            f"/ogp/commitments/{self.commitment.slug}/status",
            data={"status": "complete", "rationale": "x" * 2000},
            headers=HTML,
        )
        assert response.status_code == 413
        assert "1000" in response.data.decode()
        self.commitment.reload()
        assert self.commitment.status_history == []

    def test_other_routes_are_not_the_plugin_business(self):
        # udata's own endpoints keep udata's rules.
        response = self.send("POST", "/api/1/datasets/", {"title": "x" * 2000})
        assert response.status_code != 413


# ---------------------------------------------------------------------------------------------
# Page forms
# ---------------------------------------------------------------------------------------------


class FormsTest(InputTestCase):
    def url(self) -> str:
        return f"/ogp/commitments/{self.commitment.slug}/"

    def post(self, path: str, data: dict):
        self.login(self.admin)
        return self.client.post(self.url() + path, data=data, headers=HTML)

    def assert_page_refused(self, response, field: str) -> None:
        """The guard's own refusals (`next`): the error page names the field."""
        assert response.status_code == 400, response.data[:300]
        assert response.mimetype == "text/html"
        assert f"{field}: " in response.data.decode()

    def assert_field_refused(self, response, form: str, field: str, label: str) -> None:
        """The text rules of a form field: the page again, the error at the field, by its label."""
        assert response.status_code == 400, response.data[:300]
        assert response.mimetype == "text/html"
        html = response.data.decode()
        assert (
            f'id="{form}-{field}" name="{field}" aria-invalid="true" '
            f'aria-describedby="{form}-{field}-error"'
        ) in html
        error = re.search(rf'id="{form}-{field}-error"[^>]*>(.*?)</p>', html, re.S).group(1)
        assert error.strip() and f"{field}:" not in error, error
        # The form's summary names the field by its label, and links to it.
        summary = re.search(rf'href="#{form}-{field}"[^>]*>(.*?)</a>', html, re.S).group(1)
        assert label in summary and f"{field}:" not in summary, summary

    @pytest.mark.parametrize("value", cases("note", form=True))
    def test_link_note(self, value):
        self.dataset.owner = self.admin  # the admin's own dataset: the page offers its form
        self.dataset.save()
        data = {"target": f"Dataset:{self.dataset.id}", "role": "related", "note": value}
        response = self.post("links", data)
        self.assert_field_refused(response, "link", "note", "Pourquoi ce lien ?")
        assert CommitmentLink.objects.count() == 0

    @pytest.mark.parametrize("value", cases("note", form=True))
    def test_status_rationale(self, value):
        data = {"status": "complete", "rationale": value}
        self.assert_field_refused(self.post("status", data), "status", "rationale", "Justification")
        self.commitment.reload()
        assert self.commitment.status_history == []

    @pytest.mark.parametrize(
        "value", ["/ogp/plans/\r\nSet-Cookie: a=b", "/ogp/\nx", "/ogp/\x00", "/ogp/\x0b"]
    )
    def test_next_with_a_line_break(self, value):
        data = {"target": f"Dataset:{self.dataset.id}", "role": "related", "next": value}
        self.assert_page_refused(self.post("links", data), "next")
        assert CommitmentLink.objects.count() == 0

    @pytest.mark.parametrize("value", ["https://evil.example/", "//evil.example/", "/\\evil"])
    def test_next_elsewhere_falls_back_to_the_page(self, value):
        data = {"target": f"Dataset:{self.dataset.id}", "role": "related", "next": value}
        response = self.post("links", data)
        assert response.status_code == 303
        assert response.location.endswith(self.url())


# ---------------------------------------------------------------------------------------------
# Imports
# ---------------------------------------------------------------------------------------------


def reference() -> dict:
    return json.loads(REFERENCE)


def problems_of(content: bytes, fmt: str = "json") -> dict[str, str]:
    with pytest.raises(ImportValidationError) as error:
        import_plan(content, fmt)
    return {p.pointer: p.message for p in error.value.problems}


class JsonImportTest(InputTestCase):
    @pytest.mark.parametrize("value", cases("title"))
    def test_commitment_title(self, value):
        doc = reference()
        doc["commitments"][3]["title"] = value
        problems = problems_of(json.dumps(doc).encode())
        assert "/commitments/3/title" in problems, problems
        assert Commitment.objects.count() == 1

    @pytest.mark.parametrize("value", cases("text"))
    def test_facts_kept_verbatim(self, value):
        doc = reference()
        doc["metadata"]["note"] = value
        problems = problems_of(json.dumps(doc).encode())
        assert "/metadata/note" in problems, problems

    @pytest.mark.parametrize(
        "raw",
        ["1.5", "true", str(2**64), "1e400", "NaN"],
        ids=["float", "bool", "2^64", "1e400", "nan"],
    )
    def test_axis_number(self, raw):
        text = REFERENCE.decode().replace('"number": 1,', f'"number": {raw},', 1)
        assert text != REFERENCE.decode()
        problems = problems_of(text.encode())
        assert "/action_plan/axes/0/number" in problems, problems

    def test_deep_json(self):
        doc = reference()
        doc["metadata"]["deep"] = "@"
        text = json.dumps(doc).replace('"@"', "[" * 5000 + "]" * 5000)
        problems = problems_of(text.encode())
        assert list(problems) == ["/"] and "64" in problems["/"], problems

    def test_api_import_names_the_pointer(self):
        doc = reference()
        doc["commitments"][3]["title"] = "a\x0bb"
        response = self.send("POST", f"{API}/plans/import/", doc)
        assert response.status_code == 400
        assert "/commitments/3/title" in response.json["errors"]
        assert Commitment.objects.count() == 1


def plan_csv(mutate=None) -> str:
    doc = json.loads(json.dumps(plan_document_of_reference()))
    if mutate:
        mutate(doc)
    return to_csv(doc)


_REFERENCE_DOC: dict = {}


def plan_document_of_reference() -> dict:
    """The canonical document of the reference file, as the exporter writes it."""
    if not _REFERENCE_DOC:
        from udata_ogp.plans import document as pf

        _REFERENCE_DOC.update(pf.load(REFERENCE).doc)
    return _REFERENCE_DOC


class CsvImportTest(InputTestCase):
    @pytest.mark.parametrize("value", cases("title"))
    def test_title_cell(self, value):
        text = plan_csv(lambda doc: doc["commitments"][2].__setitem__("title", value))
        problems = problems_of(text.encode("utf-8", errors="surrogatepass"), "csv")
        if value == "a\ud800b":  # not UTF-8 once written to bytes
            assert list(problems) == [f"line {self.line_of(text, 2)}"], problems
        else:
            assert list(problems) == [f"line {self.line_of(text, 2)}, column title"], problems

    def test_cell_inside_json(self):
        def mutate(doc):
            doc["commitments"][2]["milestones"][0]["title"] = "a\x0bb"

        text = plan_csv(mutate)
        problems = problems_of(text.encode(), "csv")
        line = self.line_of(text, 2)
        assert list(problems) == [f"line {line}, column milestones, at /0/title"], problems

    def test_non_utf8_names_its_line(self):
        content = plan_csv().encode().split(b"\n")
        content[3] = content[3].replace(b"e", b"\xe9", 1)  # a Latin-1 "é"
        problems = problems_of(b"\n".join(content), "csv")
        assert list(problems) == ["line 4"], problems
        assert "UTF-8" in problems["line 4"]

    def test_non_utf8_milestones_file(self):
        milestones = b"commitment,number,title\n1,1.1,Premi\xe8re\n"
        with pytest.raises(ImportValidationError) as error:
            import_plan(plan_csv().encode(), "csv", milestones_csv=milestones)
        assert [p.pointer for p in error.value.problems] == ["milestones file, line 2"]

    @staticmethod
    def line_of(text: str, index: int) -> int:
        """The line where the row of commitment `index` starts (cells may span lines)."""
        reader = csv.reader(io.StringIO(text))
        next(reader)
        line = reader.line_num + 1
        for position, _row in enumerate(reader):
            if position == index:
                return line
            line = reader.line_num + 1
        raise AssertionError(index)

    def test_long_cell_round_trip(self):
        """A 200 kB cell the export writes imports back (csv's default limit is 128 kB)."""
        plan = import_plan(REFERENCE).plan
        commitment = Commitment.objects.get(plan=plan, number=1)
        commitment.source = {f"part{i}": "é" * 70_000 for i in range(3)}
        commitment.save()
        exported = export_plan(plan, "csv")
        assert max(len(cell) for row in csv.reader(io.StringIO(exported)) for cell in row) > 200_000
        self.reimport_gives_back(plan, exported)

    def test_formula_cells_neutralised_and_read_back_unchanged(self):
        plan = import_plan(REFERENCE).plan
        values = {
            1: ("title", '=HYPERLINK("http://evil.example")'),
            2: ("title", "+33 1 23 45 67 89"),
            3: ("title", "-1 point"),
            4: ("title", "@SUM(A1:A9)"),
            5: ("ambition", "\tindented"),
            6: ("ambition", "\rcarriage return first"),
            7: ("title", "'=already marked"),
            8: ("title", "'plain quote"),
        }
        for number, (name, value) in values.items():
            Commitment.objects(plan=plan, number=number).update_one(**{f"set__{name}": value})
        exported = export_plan(plan, "csv")
        rows = list(csv.DictReader(io.StringIO(exported)))
        for number, (name, value) in values.items():
            cell = rows[number - 1][name]
            if value[0] in "=+-@\t\r" or value.startswith("'="):
                assert cell == "'" + value, (number, cell)
            else:
                assert cell == value
        self.reimport_gives_back(plan, exported)
        for number, (name, value) in values.items():
            assert getattr(Commitment.objects.get(number=number), name) == value

    def test_a_cell_with_a_lone_cr_is_quoted(self):
        text = plan_csv(lambda doc: doc["commitments"][0].__setitem__("ambition", "a\rb"))
        row = text.split("\n")[1]
        assert '"a\rb"' in row
        rows = list(csv.DictReader(io.StringIO(text)))
        assert rows[0]["ambition"] == "a\rb"

    def reimport_gives_back(self, plan, exported: str) -> None:
        for model in (CommitmentLink, Commitment, ActionPlan):
            model.objects.delete()
        again = import_plan(exported.encode(), "csv").plan
        assert export_plan(again, "csv") == exported


# ---------------------------------------------------------------------------------------------
# Exports: one charset
# ---------------------------------------------------------------------------------------------


class ExportTypeTest(InputTestCase):
    def test_page_export_csv(self):
        response = self.client.get(f"/ogp/plans/{self.plan.slug}/export.csv", headers=HTML)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert not response.data.startswith(b"\xef\xbb\xbf")

    def test_api_export_csv(self):
        response = self.client.get(
            f"{API}/plans/{self.plan.slug}/export/?format=csv", headers={"X-API-KEY": self.key}
        )
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"


# ---------------------------------------------------------------------------------------------
# Slugs
# ---------------------------------------------------------------------------------------------


class SlugTest(InputTestCase):
    @pytest.mark.parametrize("title", ["😀🎉", "\u200b\u200d\u2060", "・"])
    def test_titles_without_letters(self, title):
        plans = [ActionPlanFactory(title=title) for _ in range(2)]
        assert [p.slug for p in plans] == ["plan", "plan-1"]
        commitments = [CommitmentFactory(plan=self.plan, title=title) for _ in range(2)]
        assert [c.slug for c in commitments] == ["commitment", "commitment-1"]
        html = self.client.get(f"/ogp/plans/{self.plan.slug}/", headers=HTML).data.decode()
        assert 'href="/ogp/commitments/"' not in html
        assert "/ogp/commitments//" not in html
        for commitment in commitments:
            assert f'href="/ogp/commitments/{commitment.slug}/' in html
            page = self.client.get(f"/ogp/commitments/{commitment.slug}/", headers=HTML)
            assert page.status_code == 200
        assert self.client.get(f"/ogp/plans/{plans[0].slug}/", headers=HTML).status_code == 200

    def test_api_title_of_emoji(self):
        response = self.send("POST", f"{API}/plans/", {"country": "FR", "title": "🇫🇷"})
        assert response.status_code == 201, response.json
        assert response.json["slug"] == "plan"


# ---------------------------------------------------------------------------------------------
# udata's own texts on output
# ---------------------------------------------------------------------------------------------


class UdataTextsTest(InputTestCase):
    def test_dataset_title_with_control_characters(self):
        self.dataset.title = "Demandes\x0bde valeurs\x00 foncières\x0c"
        self.dataset.save()
        url = f"{API}/commitments/{self.commitment.slug}/links/"
        body = {"element": {"class": "Dataset", "id": str(self.dataset.id)}, "role": "fulfils"}
        response = self.send("POST", url, body)
        assert response.status_code == 201, response.json
        link = CommitmentLink.objects.get()
        assert link.snapshot.title == "Demandesde valeurs foncières"

        feed = self.client.get(f"/ogp/plans/{self.plan.slug}/feed.atom")
        assert feed.status_code == 200
        root = ET.fromstring(feed.data)
        titles = [e.text for e in root.iter("{http://www.w3.org/2005/Atom}title")]
        assert any("foncières" in (t or "") for t in titles), titles

        for page in (
            f"/ogp/commitments/{self.commitment.slug}/",
            f"/ogp/datasets/{self.dataset.id}/",
        ):
            response = self.client.get(page, headers=HTML)
            assert response.status_code == 200, page
            assert "\x0b" not in response.data.decode() and "\x00" not in response.data.decode()

        exported = self.client.get(f"/ogp/plans/{self.plan.slug}/export.json").data
        assert json.loads(exported)["plan"]["title"] == self.plan.title
        rows = list(csv.reader(io.StringIO(export_plan(self.plan, "csv"))))
        assert len(rows) == 2

    def test_old_snapshot_with_control_characters_keeps_the_feed_valid(self):
        """Links stored before the rules: the feed cleans what it prints."""
        link = CommitmentLinkFactory(commitment=self.commitment, target=self.dataset)
        CommitmentLink._get_collection().update_one(
            {"_id": link.id}, {"$set": {"snapshot.title": "Vieux\x0btitre"}}
        )
        feed = self.client.get(f"/ogp/plans/{self.plan.slug}/feed.atom")
        assert feed.status_code == 200
        ET.fromstring(feed.data)


def test_clean_keeps_text_and_drops_what_is_not():
    assert textrules.clean("a\x0bb\x00c\ud800d\ufffe") == "abcd"
    assert textrules.clean("a\nb\tc") == "a b c"
    assert textrules.clean("a\nb", multiline=True) == "a\nb"
    assert textrules.clean("é" * 2000, kind="title") == "é" * 1000


@pytest.mark.parametrize(
    "text, where",
    [
        ('{"a": [1, 2, {"b": 1e400}]}', ("a", 2, "b")),
        ('{"a": "\\ud800"}', ("a",)),
        ('{"a\\u0000": 1}', ("a\x00",)),
        ("[NaN]", (0,)),
        ("[" + str(-(2**63) - 1) + "]", (0,)),
    ],
)
def test_strict_json_names_the_place(text, where):
    with pytest.raises(textrules.TextError) as error:
        textrules.loads(text)
    assert error.value.path == where


def test_strict_json_takes_what_is_valid():
    text = '{"a": [1, -9223372036854775808, 9223372036854775807, 1.5, "é\\n\\t", null, true]}'
    assert textrules.loads(text) == json.loads(text)
    assert textrules.loads("[" * 64 + "]" * 64) == json.loads("[" * 64 + "]" * 64)
    assert textrules.loads('["[[[[", "\\"[[["]') == ["[[[[", '"[[[']
