"""Import/export on the real reference file: counts, nothing dropped, idempotence, atomicity,
byte-identical round trips, evidence links, CLI."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path

import pytest
from udata.core.dataset.factories import DatasetFactory
from udata.core.reuse.factories import ReuseFactory

from tests import OgpDBTestCase
from udata_ogp.models import ActionPlan, Commitment, CommitmentLink
from udata_ogp.plans.exporting import export_plan
from udata_ogp.plans.importing import ImportValidationError, import_plan

REFERENCE = files("udata_ogp.data").joinpath("fr-action-plan-2018-2020.json").read_bytes()
DATA = Path(__file__).parent.parent / "data"
COLLECTIONS = (ActionPlan, Commitment, CommitmentLink)


def reference() -> dict:
    return json.loads(REFERENCE)


def as_bytes(doc: dict) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()


def dump_db(collections=COLLECTIONS) -> dict:
    """Every stored document of these collections, raw, in id order."""
    return {
        model._get_collection_name(): sorted(
            model._get_collection().find(), key=lambda raw: str(raw["_id"])
        )
        for model in collections
    }


def clear_db(collections=COLLECTIONS) -> None:
    for model in reversed(collections):
        model.objects.delete()


def leaves(value, path=""):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, f"{path}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, f"{path}/{index}")
    else:
        yield path, value


class ImportReferenceTest(OgpDBTestCase):
    def test_counts(self):
        report = import_plan(REFERENCE)

        assert ActionPlan.objects.count() == 1
        assert Commitment.objects.count() == 21
        commitments = list(report.plan.commitments)
        assert [c.number for c in commitments] == list(range(1, 22))
        assert sum(len(c.milestones) for c in commitments) == 58
        five = Commitment.objects.get(plan=report.plan, number=5)
        assert len(five.sub_commitments) == 23
        assert len(report.created) == 22 and not report.updated and not report.unchanged

    def test_fr0034_enriches_commitment_5(self):
        import_plan(REFERENCE)
        block = reference()["ogp_fr0034"]
        five = Commitment.objects.get(number=5)

        assert five.ogp_id == "FR0034"
        assert five.ogp_title == block["title"]
        assert five.policy_areas == block["policy_areas"]
        assert five.supporting_institutions == ["Tous les ministères"]
        assert five.challenges == block["challenges"]
        assert five.based_on == block["based_on"]
        assert (five.start_date, five.end_date) == ("2018", "2020")
        assert five.irm.completion == "substantial"
        assert five.irm.completion_label == "substantiel"
        assert five.irm.verifiable == "Oui"
        assert five.irm.potential_impact == "mineur"
        assert five.irm.reports == block["irm_reports"]
        assert five.irm.midterm_next_steps == block["irm_midterm_next_steps"]
        assert five.irm.recommendation == reference()["commitments"][4]["irm_recommendation"]
        assert (
            five.source["ogp_fr0034"]["lead_institution_in_description"]
            == (block["lead_institution_in_description"])
        )
        # Self-assessment milestones and OGP milestones 5.1-5.4 are the same four.
        assert [m.number for m in five.milestones] == ["5.1", "5.2", "5.3", "5.4"]
        first, _, third, fourth = five.milestones
        assert first.title.startswith("Désigner un administrateur")
        assert first.ogp_title == block["milestones"][0]["title"]
        assert first.timing == "Semestre 1 et 2 2018"
        assert (first.state, first.status) == ("partiellement réalisé", "limited")
        assert (third.state, third.status) == ("réalisé, actions au fil de l'eau", "complete")
        assert third.sub_items == block["milestones"][2]["sub_items"]
        assert (fourth.state, fourth.status) == ("non traité à ce stade", "not_started")
        assert Commitment.objects(ogp_id__ne=None).count() == 1

    def test_other_fields(self):
        report = import_plan(REFERENCE)
        plan = report.plan
        assert (plan.country, plan.start, plan.end, plan.cycle) == (
            "FR",
            "2018",
            "2020",
            "2018-2020",
        )
        assert plan.presented_on == "2018-04-03"
        assert plan.commitments_stated == 21
        assert [a.number for a in plan.axes] == [1, 2, 3, 4, 5]
        assert plan.documents[0].kind == "self_assessment"
        assert plan.source["metadata"] == reference()["metadata"]
        seventeen = Commitment.objects.get(number=17)
        assert seventeen.status == "limited"
        assert seventeen.status_evidence.startswith("Cet engagement est en avancement limité")
        one = Commitment.objects.get(number=1)
        assert [m.number for m in one.milestones] == ["1.1", "1.2", "1.3", "1.4"]
        assert one.milestones[0].source == "ambition" and one.milestones[0].status is None
        assert one.contact.name == "Jordan Bel"
        assert one.source["domain_mentions"] == reference()["commitments"][0]["domain_mentions"]

    def test_nothing_dropped(self):
        """Every non-null leaf of the reference file is somewhere in the stored documents."""
        import_plan(REFERENCE)
        stored: set = set()
        for docs in dump_db().values():
            for raw in docs:
                stored.update((type(v), v) for _, v in leaves(raw))
        missing = [
            (path, value)
            for path, value in leaves(reference())
            if value is not None and (type(value), value) not in stored
        ]
        assert missing == []

    def test_second_import_changes_nothing(self):
        import_plan(REFERENCE)
        before = dump_db()

        report = import_plan(REFERENCE)

        assert dump_db() == before  # last_modified included: nothing was saved
        assert report.created == [] and report.updated == [] and report.links_created == []
        assert len(report.unchanged) == 22
        assert "commitment 5 (FR0034)" in report.unchanged

    def test_reimport_updates_in_place(self):
        import_plan(REFERENCE)
        ids = {c.number: c.id for c in Commitment.objects}
        changed = reference()
        changed["commitments"][2]["title"] = "Un nouveau titre"
        changed["ogp_fr0034"]["completion"] = "complet"

        report = import_plan(as_bytes(changed))

        assert sorted(report.updated) == ["commitment 3", "commitment 5 (FR0034)"]
        assert report.created == []
        assert {c.number: c.id for c in Commitment.objects} == ids
        assert Commitment.objects.get(number=3).title == "Un nouveau titre"
        assert Commitment.objects.get(number=5).irm.completion == "complete"

    def test_status_changed_by_import_is_audited(self):
        import_plan(REFERENCE)
        changed = reference()
        changed["commitments"][16]["status"] = "Achevé"
        import_plan(as_bytes(changed))
        seventeen = Commitment.objects.get(number=17)
        assert seventeen.status == "complete"
        assert seventeen.source["status_label"] == "Achevé"
        assert [(h.status_from, h.status_to) for h in seventeen.status_history] == [
            ("limited", "complete")
        ]

    def test_upsert_by_ogp_id_before_number(self):
        import_plan(REFERENCE)
        plan = ActionPlan.objects.get()
        doc = json.loads(export_plan(plan))
        five = next(c for c in doc["commitments"] if c["number"] == 5)
        doc["commitments"] = [dict(five, number=22)]

        report = import_plan(as_bytes(doc))

        assert report.updated == ["commitment 22 (FR0034)"]
        assert Commitment.objects.count() == 21
        assert Commitment.objects.get(ogp_id="FR0034").number == 22

    def test_dry_run_writes_nothing(self):
        report = import_plan(REFERENCE, dry_run=True)
        assert dump_db() == {m._get_collection_name(): [] for m in COLLECTIONS}
        assert len(report.created) == 22 and report.plan is None

        import_plan(REFERENCE)
        before = dump_db()
        changed = reference()
        changed["commitments"][0]["title"] = "Autre titre"
        report = import_plan(as_bytes(changed), dry_run=True)
        assert report.updated == ["commitment 1"]
        assert len(report.unchanged) == 21
        assert dump_db() == before


class SchemaTest(OgpDBTestCase):
    def test_the_export_follows_the_shipped_schema(self):
        from jsonschema import Draft202012Validator

        from udata_ogp.plans.document import schema

        Draft202012Validator.check_schema(schema())
        exported = json.loads(export_plan(import_plan(REFERENCE).plan))
        assert list(Draft202012Validator(schema()).iter_errors(exported)) == []
        assert exported["format"] == "udata-ogp/1"


class RoundTripTest(OgpDBTestCase):
    def test_json_round_trip_is_byte_identical(self):
        first = export_plan(import_plan(REFERENCE).plan)
        clear_db()
        report = import_plan(first)
        second = export_plan(report.plan)

        assert second == first
        assert first.endswith("}\n") and "\\u00e9" not in first
        assert len(report.created) == 22
        assert sum(len(c.get("milestones", [])) for c in json.loads(first)["commitments"]) == 58

    def test_json_export_is_unchanged_by_reimport(self):
        plan = import_plan(REFERENCE).plan
        first = export_plan(plan)
        report = import_plan(first)
        assert len(report.unchanged) == 22
        assert export_plan(ActionPlan.objects.get()) == first

    def test_csv_round_trip_is_byte_identical(self):
        plan = import_plan(REFERENCE).plan
        json_first = export_plan(plan)
        first = export_plan(plan, "csv")
        clear_db()
        report = import_plan(first, "csv")
        second = export_plan(report.plan, "csv")

        assert second == first
        assert len(first.splitlines()) > 22  # header + 21 rows, some cells span lines
        # The CSV holds what the JSON holds.
        assert export_plan(report.plan) == json_first

    def test_csv_with_a_milestones_file(self):
        content = "plan.country,plan.title,number,title\nFR,Petit plan,1,Un\nFR,,2,Deux\n"
        milestones = 'commitment,number,title,due,sub_items\n2,2.1,Jalon,2019-06,"[""a""]"\n'

        report = import_plan(content, "csv", milestones_csv=milestones)

        two = Commitment.objects.get(plan=report.plan, number=2)
        assert [(m.number, m.title, m.due, m.sub_items) for m in two.milestones] == [
            ("2.1", "Jalon", "2019-06", ["a"])
        ]


class BrokenFileTest(OgpDBTestCase):
    """A broken file names every problem and leaves the database exactly as it was."""

    def assert_refused(self, content, fmt="json", **kwargs) -> list[tuple[str, str]]:
        import_plan(REFERENCE)  # a populated database shows any partial write
        before = dump_db()
        with pytest.raises(ImportValidationError) as info:
            import_plan(content, fmt, **kwargs)
        assert dump_db() == before
        problems = [(p.pointer, p.message) for p in info.value.problems]
        for pointer, _ in problems:
            assert pointer in str(info.value)
        return problems

    def pointers(self, problems) -> list[str]:
        return [pointer for pointer, _ in problems]

    def test_bad_json(self):
        problems = self.assert_refused((DATA / "bad-json.json").read_bytes())
        assert problems == [
            ("line 3, column 34", "invalid JSON: Expecting property name enclosed in double quotes")
        ]

    def test_unknown_status(self):
        problems = self.assert_refused((DATA / "unknown-status.json").read_bytes())
        assert self.pointers(problems) == ["/commitments/1/status"]
        assert "'bientôt fini'" in problems[0][1]

    def test_missing_title(self):
        problems = self.assert_refused((DATA / "missing-title.json").read_bytes())
        assert sorted(self.pointers(problems)) == [
            "/commitments/1/milestones/1/title",
            "/commitments/1/title",
        ]

    def test_bad_date(self):
        problems = self.assert_refused((DATA / "bad-date.json").read_bytes())
        assert self.pointers(problems) == ["/action_plan/period/start"]
        assert "bad date '2018-13'" in problems[0][1]

    def test_duplicate_number(self):
        problems = self.assert_refused((DATA / "duplicate-number.json").read_bytes())
        assert problems == [
            ("/commitments/2/number", "duplicate number 1 (also at /commitments/0)")
        ]

    def test_duplicate_ogp_id_and_bad_due_date(self):
        problems = self.assert_refused((DATA / "duplicate-ogp-id.json").read_bytes())
        assert self.pointers(problems) == [
            "/commitments/1/milestones/0/due",
            "/commitments/1/ogp_id",
        ]

    def test_every_problem_of_the_reference_file_is_named(self):
        broken = reference()
        broken["commitments"][3]["status"] = "presque"
        del broken["commitments"][6]["title"]
        broken["commitments"][9]["number"] = 1
        broken["ogp_fr0034"]["start_date"] = "2018-00"
        broken["ogp_fr0034"]["completion"] = "à moitié"
        problems = self.assert_refused(as_bytes(broken))
        assert sorted(self.pointers(problems)) == [
            "/commitments/3/status",
            "/commitments/6/title",
            "/commitments/9/number",
            "/ogp_fr0034/completion",
            "/ogp_fr0034/start_date",
        ]

    def test_ogp_id_of_another_plan(self):
        doc = {
            "format": "udata-ogp/1",
            "plan": {"country": "FR", "title": "Un autre plan"},
            "commitments": [{"number": 1, "ogp_id": "FR0034", "title": "Copie"}],
        }
        problems = self.assert_refused(as_bytes(doc))
        assert self.pointers(problems) == ["/commitments/0/ogp_id"]
        assert "Plan d'action 2018-2020" in problems[0][1]

    def test_model_validation_runs_before_any_write(self):
        doc = json.loads(export_plan(import_plan(REFERENCE).plan))
        doc["commitments"][20]["title"] = "Changed"  # valid change, must not be written
        doc["commitments"][1]["contacts"] = [{"name": "X", "email": "x@example.org"}]
        problems = self.assert_refused(as_bytes(doc))
        assert problems == [("/commitments/1/contacts/0/email", "unknown field")]
        assert Commitment.objects.get(number=21).title != "Changed"

    def test_unknown_shape(self):
        problems = self.assert_refused(b'{"hello": 1}')
        assert self.pointers(problems) == ["/"]

    def test_bad_csv(self):
        problems = self.assert_refused((DATA / "bad.csv").read_bytes(), "csv")
        assert problems == [
            ("line 3, column number", "expected an integer, got 'deux'"),
            ("line 4, column milestones", "invalid JSON in the cell: Expecting value"),
            ("line 3, column milestones, at /0/title", "is required"),
            (
                "line 3, column status",
                "unknown value 'bientôt'; expected one of: "
                "not_started, limited, substantial, complete",
            ),
            ("line 4, column title", "is required"),
        ]

    def test_bad_csv_values(self):
        content = (
            "plan.country,plan.title,number,title,status,milestones\n"
            "FR,Petit plan,1,Un,limited,\n"
            ',,2,Deux,bientôt,"[{""number"": ""2.1""}]"\n'
            ",Autre plan,3,,,\n"
        )
        problems = self.assert_refused(content, "csv")
        assert sorted(self.pointers(problems)) == [
            "line 3, column milestones, at /0/title",
            "line 3, column status",
            "line 4, column plan.title",
            "line 4, column title",
        ]


class EvidenceLinkTest(OgpDBTestCase):
    def test_portal_datasets_and_reuses_become_evidence_links(self):
        dataset = DatasetFactory(slug="enquete-sur-le-hackathon-datafin-de-juin-2018")
        reuse = ReuseFactory(
            slug="le-point-sur-les-donnees-essentielles-de-la-commande-publique-1-10-2018"
        )
        assert dataset.slug == "enquete-sur-le-hackathon-datafin-de-juin-2018"

        report = import_plan(REFERENCE)

        five = Commitment.objects.get(number=5)
        two = Commitment.objects.get(number=2)
        link = CommitmentLink.objects.get(commitment=five)
        assert (link.target_class, link.target_id, link.role, link.source) == (
            "Dataset",
            dataset.id,
            "evidence",
            "import",
        )
        link = CommitmentLink.objects.get(commitment=two)
        assert (link.target_class, link.target_id, link.role) == ("Reuse", reuse.id, "evidence")
        assert CommitmentLink.objects.count() == 2
        assert len(report.links_created) == 2
        # Slugs the portal does not hold stay plain URLs.
        eight = Commitment.objects.get(number=8)
        assert CommitmentLink.objects(commitment=eight).count() == 0
        assert any("piaf-le-dataset-franco-phone" in url for url in eight.urls)

        again = import_plan(REFERENCE)
        assert again.links_created == []
        assert CommitmentLink.objects.count() == 2

    def test_private_or_deleted_targets_are_not_linked(self):
        DatasetFactory(slug="enquete-sur-le-hackathon-datafin-de-juin-2018", private=True)
        ReuseFactory(
            slug="le-point-sur-les-donnees-essentielles-de-la-commande-publique-1-10-2018",
            deleted=datetime.now(UTC),
        )
        assert import_plan(REFERENCE, dry_run=True).links_created == []
        assert import_plan(REFERENCE).links_created == []
        assert CommitmentLink.objects.count() == 0

    def test_dry_run_announces_links_without_making_them(self):
        DatasetFactory(slug="enquete-sur-le-hackathon-datafin-de-juin-2018")
        report = import_plan(REFERENCE, dry_run=True)
        assert report.links_created == [
            "commitment 5 (FR0034) → Dataset enquete-sur-le-hackathon-datafin-de-juin-2018"
        ]
        assert CommitmentLink.objects.count() == 0


class CliTest(OgpDBTestCase):
    def reference_path(self) -> str:
        return str(files("udata_ogp.data").joinpath("fr-action-plan-2018-2020.json"))

    def test_import(self):
        result = self.cli("ogp", "import", self.reference_path())
        assert result.exit_code == 0
        assert "22 created" in result.output
        assert Commitment.objects.count() == 21

        result = self.cli("ogp", "import", self.reference_path())
        assert "22 unchanged" in result.output and "0 updated" in result.output

    def test_dry_run(self):
        result = self.cli("ogp", "import", "--dry-run", self.reference_path())
        assert result.exit_code == 0
        assert "22 would be created" in result.output
        assert "commitment 5 (FR0034)" in result.output
        assert ActionPlan.objects.count() == 0

    def test_invalid_file(self):
        import_plan(REFERENCE)
        before = dump_db()
        result = self.cli("ogp", "import", str(DATA / "missing-title.json"), expect_error=True)
        assert result.exit_code == 1
        assert "/commitments/1/title" in result.output
        assert "/commitments/1/milestones/1/title" in result.output
        assert dump_db() == before

    def test_export(self, tmp_path):
        plan = import_plan(REFERENCE).plan
        target = tmp_path / "plan.json"
        result = self.cli("ogp", "export", "--format", "json", "-o", str(target))
        assert result.exit_code == 0
        assert target.read_bytes() == export_plan(plan).encode()

        result = self.cli("ogp", "export", "--plan", plan.slug, "--format", "csv")
        assert result.output == export_plan(plan, "csv")

    def test_export_needs_plan_when_several(self):
        import_plan(REFERENCE)
        other = copy.deepcopy(reference())
        other["action_plan"]["title"] = "Plan d'action 2021-2023"
        other["commitments"] = other["commitments"][:1]
        del other["ogp_fr0034"]
        import_plan(as_bytes(other))
        result = self.cli("ogp", "export", expect_error=True)
        assert result.exit_code == 1
        assert "--plan" in result.output
