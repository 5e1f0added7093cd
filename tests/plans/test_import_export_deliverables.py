"""Deliverables in plan files: exported as declared, imported with the API's checks, round trips
byte-identical (JSON and CSV), re-imports that change nothing, a file's list as the whole list,
and readers' exports that hide what the visibility rule hides."""

from __future__ import annotations

import json

import pytest
from flask_babel import force_locale
from udata.core.dataset.factories import DatasetFactory
from udata.core.organization.factories import OrganizationFactory

from tests import BROWSER_HEADERS, OgpAPITestCase, OgpDBTestCase
from tests.plans import test_import_export as plan_files
from tests.plans.test_import_export import REFERENCE
from udata_ogp.delivery.actions import create_deliverable
from udata_ogp.models import (
    ActionPlan,
    Commitment,
    CommitmentLink,
    Deliverable,
    DeliverableRules,
    Proposal,
)
from udata_ogp.plans import document as pf
from udata_ogp.plans.exporting import export_plan
from udata_ogp.plans.importing import ImportValidationError, import_plan

COLLECTIONS = (ActionPlan, Commitment, CommitmentLink, Deliverable, Proposal)


def dump_db() -> dict:
    return plan_files.dump_db(COLLECTIONS)


def clear_plans() -> None:
    """The plugin's documents go; the portal's datasets and organisations stay."""
    plan_files.clear_db(COLLECTIONS)


def doc_of(plan: ActionPlan) -> dict:
    return json.loads(export_plan(plan))


def entries(doc: dict, number: int) -> list[dict]:
    return next(c for c in doc["commitments"] if c["number"] == number).get("deliverables", [])


def put(doc: dict, number: int, deliverables) -> dict:
    commitment = next(c for c in doc["commitments"] if c["number"] == number)
    commitment["deliverables"] = deliverables
    return doc


def as_bytes(doc: dict) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()


class DeliverablesFixture(OgpDBTestCase):
    """The reference plan with one deliverable of each shape on commitments 2 and 8."""

    def declare(self) -> ActionPlan:
        plan = import_plan(REFERENCE).plan
        self.org = OrganizationFactory(name="Direction générale des finances publiques")
        self.dvf = DatasetFactory(title="Demandes de valeurs foncières", organization=self.org)
        self.tagged = DatasetFactory(
            title="Données ouvertes du foncier", organization=self.org, tags=["foncier"]
        )
        two = Commitment.objects.get(plan=plan, number=2)
        eight = Commitment.objects.get(plan=plan, number=8)
        self.declared = {
            2: [
                {
                    "title": "Les données de valeurs foncières",
                    "title_en": "Land value data",
                    "element": {"class": "Dataset", "id": str(self.dvf.id)},
                    "due": "2019-06",
                    "note": "Promise of the **plan**.",
                },
                {
                    "title": "Le foncier, par la DGFiP",
                    "milestone": two.milestones[0].number,
                    "rules": {
                        "organizations": [str(self.org.id)],
                        "tags": ["foncier"],
                        "open_license": True,
                        "formats": ["csv"],
                        "min_resources": 0,
                        "frequency": "annual",
                        "fresh": False,
                    },
                },
            ],
            8: [{"title": "Un schéma publié", "rules": {"schema": "etalab/schema-lieux"}}],
        }
        for commitment in (two, eight):
            for data in self.declared[commitment.number]:
                create_deliverable(commitment, data, check=False)
        return plan


class ExportTest(DeliverablesFixture):
    def test_a_deliverable_exports_what_it_declares_and_nothing_the_sweep_found(self):
        plan = self.declare()
        assert Deliverable.objects.get(title="Les données de valeurs foncières").state == "met"

        doc = doc_of(plan)

        assert entries(doc, 2) == self.declared[2] and entries(doc, 8) == self.declared[8]
        # In the canonical order, whatever order they were given in.
        assert [list(entry) for entry in entries(doc, 2)] == [
            ["title", "title_en", "due", "note", "element"],
            ["milestone", "title", "rules"],
        ]
        rules = entries(doc, 2)[1]["rules"]
        assert list(rules) == [name for name in pf.RULE_FIELDS if name in rules]
        assert list(rules) != sorted(rules)  # the model's order, not the alphabet's
        assert "deliverables" not in next(c for c in doc["commitments"] if c["number"] == 1)

    def test_the_export_follows_the_shipped_schema(self):
        from jsonschema import Draft202012Validator

        plan = self.declare()
        assert list(Draft202012Validator(pf.schema()).iter_errors(doc_of(plan))) == []

    def test_rule_fields_are_the_models(self):
        assert pf.RULE_FIELDS == tuple(DeliverableRules._fields_ordered)
        properties = pf.schema()["$defs"]["deliverable_rules"]["properties"]
        assert tuple(properties) == pf.RULE_FIELDS
        assert set(pf.schema()["$defs"]["deliverable"]["properties"]) == set(pf.DELIVERABLE_FIELDS)


class RoundTripTest(DeliverablesFixture):
    def test_json_round_trip_is_byte_identical_and_evaluated_at_once(self):
        first = export_plan(self.declare())
        clear_plans()

        report = import_plan(first)

        assert export_plan(report.plan) == first
        assert Deliverable.objects.count() == 3
        assert "deliverable 'Un schéma publié' of commitment 8" in report.created
        # What the portal's data says is known as soon as the import ends.
        dvf = Deliverable.objects.get(title="Les données de valeurs foncières")
        assert dvf.state == "met" and dvf.proof is not None
        two = Commitment.objects.get(number=2)
        assert two.verification["deliverables"] == 2

    def test_csv_round_trip_is_byte_identical(self):
        plan = self.declare()
        json_first = export_plan(plan)
        first = export_plan(plan, "csv")
        assert first.splitlines()[0].endswith(",deliverables")
        clear_plans()

        report = import_plan(first, "csv")

        assert export_plan(report.plan, "csv") == first
        assert export_plan(report.plan) == json_first

    def test_a_second_import_writes_nothing(self):
        plan = self.declare()
        first = export_plan(plan)
        before = dump_db()

        report = import_plan(first)

        assert dump_db() == before  # states, proofs, history and last_modified kept
        assert report.created == report.updated == report.deleted == []
        assert "deliverable 'Le foncier, par la DGFiP' of commitment 2" in report.unchanged

    def test_explicit_nulls_and_empty_lists_are_unchanged_values(self):
        plan = self.declare()
        doc = doc_of(plan)
        rules_entry = entries(doc, 8)[0]
        rules_entry.update(note=None, due=None, milestone="", title_en="")
        rules_entry["rules"].update(tags=[], formats=None)
        before = dump_db()

        report = import_plan(as_bytes(doc))

        assert dump_db() == before
        assert "deliverable 'Un schéma publié' of commitment 8" in report.unchanged


class ReimportTest(DeliverablesFixture):
    def test_the_files_list_is_the_whole_list(self):
        plan = self.declare()
        kept = Deliverable.objects.get(title="Les données de valeurs foncières")
        history = list(kept.history)
        dropped = Deliverable.objects.get(title="Le foncier, par la DGFiP")
        Proposal(
            commitment=dropped.commitment,
            kind="deliverable_target",
            deliverable=dropped,
            target_class="Dataset",
            target_id=self.tagged.id,
            key=Proposal.key_for("deliverable", dropped.id, "Dataset", self.tagged.id),
        ).save()
        doc = doc_of(plan)
        two = entries(doc, 2)
        two[0]["due"] = "2030"
        put(doc, 2, [two[0], {"title": "Une nouvelle promesse", "rules": {"tags": ["foncier"]}}])

        report = import_plan(as_bytes(doc))

        assert report.updated[-1:] == [
            "deliverable 'Les données de valeurs foncières' of commitment 2"
        ]
        assert report.created == ["deliverable 'Une nouvelle promesse' of commitment 2"]
        assert report.deleted == ["deliverable 'Le foncier, par la DGFiP' of commitment 2"]
        kept.reload()
        assert kept.due == "2030" and kept.history[: len(history)] == history  # same document
        assert not Deliverable.objects(id=dropped.id).first()
        assert Proposal.objects.count() == 0  # what was proposed for it went with it
        new = Deliverable.objects.get(title="Une nouvelle promesse")
        assert new.state == "met" and [m.target_id for m in new.matches] == [self.tagged.id]
        assert [e["title"] for e in entries(doc_of(plan), 2)] == [
            "Les données de valeurs foncières",
            "Une nouvelle promesse",
        ]

    def test_new_rules_are_evaluated_afresh(self):
        plan = self.declare()
        doc = doc_of(plan)
        entries(doc, 8)[0]["rules"] = {"tags": ["foncier"]}
        import_plan(as_bytes(doc))

        eight = Deliverable.objects.get(title="Un schéma publié")
        assert eight.rules.schema is None and eight.rules.tags == ["foncier"]
        assert eight.state == "met"
        assert Commitment.objects.get(number=8).verification["met"] == 1

    def test_an_absent_key_leaves_them_an_empty_list_removes_them(self):
        plan = self.declare()
        doc = doc_of(plan)
        for commitment in doc["commitments"]:
            commitment.pop("deliverables", None)
        assert import_plan(as_bytes(doc)).deleted == []
        assert Deliverable.objects.count() == 3

        put(doc, 8, [])
        report = import_plan(as_bytes(doc))
        assert report.deleted == ["deliverable 'Un schéma publié' of commitment 8"]
        assert Deliverable.objects.count() == 2
        assert Commitment.objects.get(number=8).verification["deliverables"] == 0

    def test_a_target_made_private_since_stays_declared(self):
        plan = self.declare()
        first = export_plan(plan)
        self.dvf.private = True
        self.dvf.save()

        report = import_plan(first)

        assert "deliverable 'Les données de valeurs foncières' of commitment 2" in report.unchanged

    def test_dry_run_says_and_writes_nothing(self):
        plan = self.declare()
        doc = put(doc_of(plan), 8, [{"title": "Autre", "rules": {"tags": ["x"]}}])
        before = dump_db()

        report = import_plan(as_bytes(doc), dry_run=True)

        assert dump_db() == before
        assert report.created == ["deliverable 'Autre' of commitment 8"]
        assert report.deleted == ["deliverable 'Un schéma publié' of commitment 8"]

    def test_a_refused_write_undoes_the_deliverables_too(self):
        plan = self.declare()
        doc = doc_of(plan)
        put(
            doc,
            8,
            [
                {"title": "Première", "rules": {"tags": ["a"]}},
                {"title": "Seconde", "rules": {"tags": ["b"]}},
            ],
        )
        entries(doc, 2)[0]["due"] = "2031"
        before = dump_db()
        saves = []
        original = Deliverable.save

        def failing(self, *args, **kwargs):
            saves.append(self.title)
            if len(saves) == 3:
                raise RuntimeError("the database went away")
            return original(self, *args, **kwargs)

        Deliverable.save = failing
        try:
            with pytest.raises(RuntimeError):
                import_plan(as_bytes(doc))
        finally:
            Deliverable.save = original

        assert len(saves) == 3
        assert dump_db() == before


class BadDeliverableTest(DeliverablesFixture):
    """Every refused deliverable is named at its field; nothing is written."""

    def refused(self, deliverables: list, number: int = 8) -> list[tuple[str, str]]:
        plan = self.declare()
        doc = put(doc_of(plan), number, deliverables)
        before = dump_db()
        with pytest.raises(ImportValidationError) as info, force_locale("en"):
            import_plan(as_bytes(doc))
        assert dump_db() == before
        return [(p.pointer, p.message) for p in info.value.problems]

    def test_schema_problems(self):
        index = 7  # commitment 8
        problems = self.refused(
            [
                {"rules": {"tags": ["a"]}},
                {"title": "x", "rules": {"colour": "red"}},
                {"title": "y", "due": "juin 2019", "rules": {"tags": ["a"]}},
                {"title": "z", "element": {"class": "Dataset", "id": "nope"}},
                {"title": "w", "element": {"class": "Tree", "id": "0" * 24}},
                {"title": "v", "rules": {"min_resources": -1, "open_license": "yes"}},
            ]
        )
        base = f"/commitments/{index}/deliverables"
        assert dict(problems) == {
            f"{base}/0/title": "is required",
            f"{base}/1/rules/colour": "unknown field",
            f"{base}/2/due": "bad date 'juin 2019'; expected YYYY, YYYY-MM or YYYY-MM-DD",
            f"{base}/3/element/id": "'nope' is not an id (24 hexadecimal characters)",
            f"{base}/4/element/class": (
                "unknown value 'Tree'; expected one of: Dataset, Reuse, Dataservice"
            ),
            f"{base}/5/rules/min_resources": "-1 is less than the minimum of 0",
            f"{base}/5/rules/open_license": "'yes' is not of type 'boolean', 'null'",
        }

    def test_the_apis_rules(self):
        base = "/commitments/7/deliverables"
        missing = "0" * 24
        problems = self.refused(
            [
                {"title": "Ni l'un ni l'autre"},
                {
                    "title": "Les deux",
                    "element": {"class": "Dataset", "id": str(DatasetFactory().id)},
                    "rules": {"tags": ["a"]},
                },
                {"title": "Trop large", "rules": {"open_license": True}},
                {"title": "Organisation", "rules": {"organizations": [missing]}},
                {"title": "Fréquence", "rules": {"tags": ["a"], "frequency": "sometimes"}},
                {"title": "Jalon", "milestone": "99.9", "rules": {"tags": ["a"]}},
                {"title": "Absent", "element": {"class": "Dataset", "id": missing}},
            ]
        )
        pointers = dict(problems)
        assert set(pointers) == {
            f"{base}/0/rules",
            f"{base}/1/rules",
            f"{base}/2/rules",
            f"{base}/3/rules/organizations/0",
            f"{base}/4/rules/frequency",
            f"{base}/5/milestone",
            f"{base}/6/element/id",
        }
        assert pointers[f"{base}/0/rules"] == "give an element (one object) or rules"
        assert pointers[f"{base}/1/rules"] == "give either an element or rules, not both"
        assert pointers[f"{base}/2/rules"] == "Rules must name organizations, tags or a schema."
        assert pointers[f"{base}/3/rules/organizations/0"] == f"no organization {missing}"
        assert "unknown frequency 'sometimes'" in pointers[f"{base}/4/rules/frequency"]
        assert pointers[f"{base}/5/milestone"] == "Commitment 8 has no milestone '99.9'."
        assert missing in pointers[f"{base}/6/element/id"]

    def test_a_private_dataset_cannot_be_declared_by_file(self):
        private = DatasetFactory(private=True)
        problems = self.refused(
            [{"title": "Privé", "element": {"class": "Dataset", "id": str(private.id)}}]
        )
        assert [pointer for pointer, _ in problems] == ["/commitments/7/deliverables/0/element/id"]

    def test_a_bad_cell_in_csv_is_named_by_line_and_column(self):
        plan = self.declare()
        text = export_plan(plan, "csv")
        bad = text.replace('""schema"":""etalab/schema-lieux""', '""schema"":7')
        assert bad != text
        with pytest.raises(ImportValidationError) as info:
            import_plan(bad, "csv")
        [problem] = info.value.problems
        assert problem.pointer.startswith("line ") and "column deliverables" in problem.pointer
        assert "7 is not of type" in problem.message


class ReaderExportTest(OgpAPITestCase, DeliverablesFixture):
    def test_a_visitors_export_hides_a_private_target_an_administrators_keeps_it(self):
        from udata.core.user.factories import AdminFactory

        plan = self.declare()
        self.dvf.private = True
        self.dvf.save()

        response = self.get(f"/ogp/plans/{plan.slug}/export.json", headers=BROWSER_HEADERS)
        assert response.status_code == 200
        element = entries(json.loads(response.data), 2)[0]["element"]
        assert element == {"class": "Dataset", "hidden": True}
        assert str(self.dvf.id) not in response.data.decode()

        self.login(AdminFactory())
        response = self.get(f"/ogp/plans/{plan.slug}/export.json", headers=BROWSER_HEADERS)
        element = entries(json.loads(response.data), 2)[0]["element"]
        assert element == {"class": "Dataset", "id": str(self.dvf.id)}
        # The administrators' CLI keeps everything too.
        assert entries(doc_of(plan), 2)[0]["element"]["id"] == str(self.dvf.id)

    def test_a_draft_commitments_deliverables_stay_out(self):
        plan = self.declare()
        Commitment.objects(plan=plan, number=8).update(set__published=False)

        response = self.get(f"/ogp/plans/{plan.slug}/export.json", headers=BROWSER_HEADERS)

        assert "Un schéma publié" not in response.data.decode()
        assert "Le foncier, par la DGFiP" in response.data.decode()


class ReferenceShapeTest(OgpDBTestCase):
    def test_the_reference_shape_carries_deliverables_too(self):
        data = json.loads(REFERENCE)
        data["commitments"][1]["deliverables"] = [
            {"title": "Les données de valeurs foncières", "rules": {"tags": ["dvf"]}}
        ]
        import_plan(as_bytes(data))
        [deliverable] = Deliverable.objects
        assert deliverable.commitment.number == data["commitments"][1]["number"]
        assert deliverable.rules.tags == ["dvf"]
