"""The OGP REST API: reads, filters, visibility of drafts, bad input, swagger."""

from __future__ import annotations

import flask_babel
import pytest
from flask import url_for
from flask_restx import schemas
from udata.core.dataset.factories import DatasetFactory
from udata.core.organization.factories import OrganizationFactory
from udata.core.organization.models import Member
from udata.core.reuse.factories import ReuseFactory
from udata.core.user.factories import AdminFactory, UserFactory

from tests import OgpAPITestCase
from udata_ogp.factories import (
    ActionPlanFactory,
    CommitmentFactory,
    CommitmentLinkFactory,
    MilestoneFactory,
)
from udata_ogp.models import ActionPlan, Commitment, CommitmentLink

API = "/api/1/ogp"


class ReadApiTest(OgpAPITestCase):
    def test_list_plans_hides_drafts_from_visitors(self):
        ActionPlanFactory(title="Public")
        ActionPlanFactory(title="Draft", published=False)
        response = self.get(f"{API}/plans/")
        assert response.status_code == 200
        body = response.json
        assert [p["title"] for p in body["data"]] == ["Public"]
        assert {"page", "page_size", "total", "next_page", "previous_page", "data"} <= set(body)

    def test_admin_sees_drafts(self):
        ActionPlanFactory(published=False)
        self.login(AdminFactory())
        assert self.get(f"{API}/plans/").json["total"] == 1

    def test_org_member_sees_own_draft_plan(self):
        user = UserFactory()
        org = OrganizationFactory(members=[Member(user=user, role="editor")])
        plan = ActionPlanFactory(published=False, organization=org)
        ActionPlanFactory(published=False)
        self.login(user)
        body = self.get(f"{API}/plans/").json
        assert [p["id"] for p in body["data"]] == [str(plan.id)]
        assert self.get(f"{API}/plans/{plan.slug}/").status_code == 200

    def test_read_plan_by_id_and_slug(self):
        plan = ActionPlanFactory()
        for ident in (str(plan.id), plan.slug):
            response = self.get(f"{API}/plans/{ident}/")
            assert response.status_code == 200, ident
            assert response.json["id"] == str(plan.id)

    def test_draft_plan_is_404_for_visitors(self):
        plan = ActionPlanFactory(published=False)
        assert self.get(f"{API}/plans/{plan.id}/").status_code == 404
        self.login(UserFactory())
        assert self.get(f"{API}/plans/{plan.slug}/").status_code == 404

    def test_unknown_plan_404(self):
        assert self.get(f"{API}/plans/nope/").status_code == 404
        assert self.get(f"{API}/plans/{'0' * 24}/").status_code == 404

    def test_read_commitment_by_id_slug_and_ogp_id(self):
        commitment = CommitmentFactory(ogp_id="FR0034")
        for ident in (str(commitment.id), commitment.slug, "FR0034", "fr0034"):
            response = self.get(f"{API}/commitments/{ident}/")
            assert response.status_code == 200, ident
            assert response.json["id"] == str(commitment.id)

    def test_commitment_of_draft_plan_is_hidden(self):
        commitment = CommitmentFactory(plan=ActionPlanFactory(published=False))
        draft = CommitmentFactory(published=False)
        CommitmentFactory()
        assert self.get(f"{API}/commitments/{commitment.id}/").status_code == 404
        assert self.get(f"{API}/commitments/{draft.id}/").status_code == 404
        assert self.get(f"{API}/commitments/").json["total"] == 1
        self.login(AdminFactory())
        assert self.get(f"{API}/commitments/").json["total"] == 3

    def test_commitment_editor_sees_own_draft(self):
        user = UserFactory()
        org = OrganizationFactory(members=[Member(user=user, role="editor")])
        mine = CommitmentFactory(published=False, organization=org)
        CommitmentFactory(published=False)
        self.login(user)
        body = self.get(f"{API}/commitments/").json
        assert [c["id"] for c in body["data"]] == [str(mine.id)]
        assert self.get(f"{API}/commitments/{mine.id}/").status_code == 200

    def test_commitment_filters(self):
        plan = ActionPlanFactory()
        first = CommitmentFactory(
            plan=plan,
            axis=1,
            lead_institutions=["DINUM"],
            policy_areas=["Open data"],
            ogp_values=["access_to_information"],
            ogp_id="FR0001",
            title="Ouvrir les données de la commande publique",
        )
        Commitment.objects(id=first.id).update(
            set__status="complete", set__health_counts={"broken": 1, "ok": 2}
        )
        CommitmentFactory(plan=plan, axis=2, lead_institutions=["Cour des comptes"])
        CommitmentFactory()
        cases = {
            f"plan={plan.slug}": 2,
            f"plan={plan.id}": 2,
            "status=complete": 1,
            "axis=1": 1,
            "lead_institution=DINUM": 1,
            "policy_area=Open data": 1,
            "ogp_value=access_to_information": 1,
            "health=broken": 1,
            "health=gone": 0,
            "q=commande": 1,
            "q=comm publ": 1,
            "q=fr0001": 1,
            "q=dinum": 1,
            "q=dinum commande": 1,
            "q=dinum zzz": 0,
        }
        for query, expected in cases.items():
            response = self.get(f"{API}/commitments/?{query}")
            assert response.status_code == 200, query
            assert response.json["total"] == expected, query

    def test_commitment_sort(self):
        plan = ActionPlanFactory()
        for number in (2, 1, 3):
            CommitmentFactory(plan=plan, number=number)
        body = self.get(f"{API}/commitments/?sort=-number").json
        assert [c["number"] for c in body["data"]] == [3, 2, 1]

    @pytest.mark.parametrize(
        "query,arg",
        [
            ("status=done", "status"),
            ("ogp_value=nope", "ogp_value"),
            ("health=sick", "health"),
            ("sort=nope", "sort"),
            ("axis=x", "axis"),
            ("page_size=1000", "page_size"),
            ("page_size=0", "page_size"),
            ("page=0", "page"),
            ("page=abc", "page"),
        ],
    )
    def test_bad_query_args_400_naming_the_arg(self, query, arg):
        response = self.get(f"{API}/commitments/?{query}")
        assert response.status_code == 400
        assert arg in response.json["errors"]

    def test_unknown_plan_filter_404(self):
        assert self.get(f"{API}/commitments/?plan=nope").status_code == 404

    def test_pagination(self):
        plan = ActionPlanFactory()
        for _ in range(5):
            CommitmentFactory(plan=plan)
        body = self.get(f"{API}/commitments/?page_size=2&page=2").json
        assert body["page"] == 2 and body["page_size"] == 2 and body["total"] == 5
        assert len(body["data"]) == 2
        assert body["next_page"] and body["previous_page"]

    def test_status_history(self):
        commitment = CommitmentFactory()
        self.login(AdminFactory())
        response = self.post(
            f"{API}/commitments/{commitment.id}/status/",
            {"status": "limited", "rationale": "Premières données publiées"},
        )
        assert response.status_code == 201, response.json
        self.logout()
        history = self.get(f"{API}/commitments/{commitment.id}/status/").json
        assert [(h["status_from"], h["status_to"]) for h in history] == [(None, "limited")]
        assert self.get(f"{API}/commitments/{commitment.id}/").json["status"] == "limited"

    def test_links_of_commitment_and_reverse_lookup(self):
        dataset = DatasetFactory()
        link = CommitmentLinkFactory(target=dataset)
        CommitmentLinkFactory()
        hidden = CommitmentLinkFactory(
            target=dataset, commitment=CommitmentFactory(published=False)
        )
        response = self.get(f"{API}/commitments/{link.commitment.id}/links/")
        assert response.status_code == 200
        data = response.json["data"]
        assert [d["id"] for d in data] == [str(link.id)]
        assert data[0]["element"] == {"class": "Dataset", "id": str(dataset.id)}
        assert data[0]["commitment"]["id"] == str(link.commitment.id)
        assert data[0]["snapshot"]["title"] == dataset.title
        reverse = self.get(f"{API}/links/?dataset={dataset.id}").json
        assert [d["id"] for d in reverse["data"]] == [str(link.id)]
        self.login(AdminFactory())
        reverse = self.get(f"{API}/links/?dataset={dataset.id}").json
        assert {d["id"] for d in reverse["data"]} == {str(link.id), str(hidden.id)}

    def test_reverse_lookup_reuse(self):
        reuse = ReuseFactory()
        link = CommitmentLinkFactory(target=reuse)
        body = self.get(f"{API}/links/?reuse={reuse.id}").json
        assert [d["id"] for d in body["data"]] == [str(link.id)]
        assert self.get(f"{API}/links/?dataservice={reuse.id}").json["total"] == 0

    def test_reverse_lookup_bad_id(self):
        response = self.get(f"{API}/links/?dataset=nope")
        assert response.status_code == 400
        assert "dataset" in response.json["errors"]

    def test_read_link_and_hidden_link(self):
        link = CommitmentLinkFactory()
        assert self.get(f"{API}/links/{link.id}/").json["role"] == "fulfils"
        hidden = CommitmentLinkFactory(commitment=CommitmentFactory(published=False))
        assert self.get(f"{API}/links/{hidden.id}/").status_code == 404
        assert self.get(f"{API}/links/nope/").status_code == 404


class BadInputApiTest(OgpAPITestCase):
    @pytest.fixture(autouse=True)
    def _admin(self):
        self.login(AdminFactory())

    def test_malformed_json(self):
        response = self.client.post(
            f"{API}/plans/", data="{not json", headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400

    @pytest.mark.parametrize("body", ["[]", '"x"', "3", "null"])
    def test_not_an_object(self, body):
        response = self.client.post(
            f"{API}/plans/", data=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert "body" in response.json["errors"]

    def test_unknown_field(self):
        response = self.post(f"{API}/plans/", {"country": "FR", "title": "T", "colour": "red"})
        assert response.status_code == 400
        assert "colour" in response.json["errors"]
        assert ActionPlan.objects.count() == 0

    def test_readonly_field(self):
        commitment = CommitmentFactory()
        response = self.put(f"{API}/commitments/{commitment.id}/", {"status": "complete"})
        assert response.status_code == 400
        assert "status" in response.json["errors"]
        assert Commitment.objects.get(id=commitment.id).status is None

    @pytest.mark.parametrize(
        "body,field",
        [
            ({"status": "finished"}, "status"),
            ({"title": 12}, "title"),
            ({"axes": "x"}, "axes"),
            ({"axes": [{"number": 1}]}, "axes.0.title"),
            ({"axes": [{"number": 1, "title": "a", "x": 1}]}, "axes.0.x"),
            ({"start": "2018-13"}, "start"),
            ({"organization": "nope"}, "organization"),
            ({"organization": "0" * 24}, "organization"),
            ({"source": []}, "source"),
        ],
    )
    def test_wrong_values_name_the_field(self, body, field):
        response = self.post(f"{API}/plans/", {"country": "FR", "title": "T", **body})
        assert response.status_code == 400, response.json
        assert field in response.json["errors"], response.json
        assert ActionPlan.objects.count() == 0

    @pytest.mark.parametrize(
        "body,field",
        [
            ({"ogp_values": ["nope"]}, "ogp_values"),
            ({"ogp_values": [{}]}, "ogp_values"),
            ({"lead_institutions": [1]}, "lead_institutions"),
            ({"milestones": [{"number": "1.1"}]}, "milestones.0.title"),
            ({"milestones": [{"number": "1.1", "title": "a", "due": 2020}]}, "milestones.0.due"),
            ({"milestones": [{"number": "1", "title": "a", "due": "2020-13"}]}, "milestones.0.due"),
            ({"irm": {"completion": "done"}}, "irm.completion"),
            ({"irm": {"colour": "red"}}, "irm.colour"),
            ({"contact": {"name": 3}}, "contact.name"),
            ({"number": "x"}, "number"),
            ({"number": True}, "number"),
            ({"plan": "0" * 24}, "plan"),
        ],
    )
    def test_wrong_commitment_values(self, body, field):
        commitment = CommitmentFactory()
        response = self.put(f"{API}/commitments/{commitment.id}/", body)
        assert response.status_code == 400, response.json
        assert field in response.json["errors"], response.json

    def test_duplicate_commitment_number_409(self):
        plan = ActionPlanFactory()
        CommitmentFactory(plan=plan, number=1)
        response = self.post(
            f"{API}/commitments/", {"plan": str(plan.id), "number": 1, "title": "Doublon"}
        )
        assert response.status_code == 409

    def test_milestones_written(self):
        commitment = CommitmentFactory()
        response = self.put(
            f"{API}/commitments/{commitment.id}/",
            {"milestones": [{"number": "1.1", "title": "Jalon", "due": "2020-06"}]},
        )
        assert response.status_code == 200, response.json
        assert response.json["milestones"][0]["title"] == "Jalon"
        assert Commitment.objects.get(id=commitment.id).milestone("1.1").due == "2020-06"

    def test_duplicate_milestone_numbers(self):
        commitment = CommitmentFactory()
        milestones = [{"number": "1", "title": "a"}, {"number": "1", "title": "b"}]
        response = self.put(f"{API}/commitments/{commitment.id}/", {"milestones": milestones})
        assert response.status_code == 400

    @pytest.mark.parametrize(
        "body,status,field",
        [
            ({"status": "complete"}, 400, "rationale"),
            ({"status": "complete", "rationale": "  "}, 400, "rationale"),
            ({"status": "done", "rationale": "x"}, 400, "status"),
            ({"status": 3, "rationale": "x"}, 400, "status"),
            ({"rationale": "x"}, 400, "status"),
            ({"status": "complete", "rationale": "x", "evidence_url": "ftp://x"}, 400, None),
            ({"status": "complete", "rationale": "x", "extra": 1}, 400, "extra"),
        ],
    )
    def test_bad_status_change(self, body, status, field):
        commitment = CommitmentFactory()
        response = self.post(f"{API}/commitments/{commitment.id}/status/", body)
        assert response.status_code == status, response.json
        if field:
            assert field in response.json["errors"]
        assert Commitment.objects.get(id=commitment.id).status_history == []

    @pytest.mark.parametrize(
        "element,status,field",
        [
            ({"class": "Topic", "id": "0" * 24}, 400, "element.class"),
            ({"class": "Dataset", "id": "nope"}, 400, "element.id"),
            ({"class": "Dataset", "id": "0" * 24}, 404, "element.id"),
            ({"class": "Dataset"}, 400, "element.id"),
            ({"class": ["Dataset"], "id": "0" * 24}, 400, "element.class"),
            ({"class": "Dataset", "id": "0" * 24, "x": 1}, 400, "element.x"),
            ("Dataset", 400, "element"),
        ],
    )
    def test_bad_link_element(self, element, status, field):
        commitment = CommitmentFactory()
        response = self.post(
            f"{API}/commitments/{commitment.id}/links/", {"element": element, "role": "fulfils"}
        )
        assert response.status_code == status, response.json
        assert field in response.json["errors"], response.json
        assert CommitmentLink.objects.count() == 0

    def test_link_deleted_target_410_private_400(self):
        from datetime import UTC, datetime

        commitment = CommitmentFactory()
        deleted = DatasetFactory(deleted=datetime.now(UTC))
        private = DatasetFactory(private=True)
        url = f"{API}/commitments/{commitment.id}/links/"
        response = self.post(url, {"element": {"class": "Dataset", "id": str(deleted.id)}})
        assert response.status_code == 410
        assert "element.id" in response.json["errors"]
        response = self.post(url, {"element": {"class": "Dataset", "id": str(private.id)}})
        assert response.status_code == 400
        assert "element.id" in response.json["errors"]

    def test_duplicate_link_409(self):
        commitment = CommitmentFactory()
        dataset = DatasetFactory()
        url = f"{API}/commitments/{commitment.id}/links/"
        body = {"element": {"class": "Dataset", "id": str(dataset.id)}, "role": "fulfils"}
        assert self.post(url, body).status_code == 201
        assert self.post(url, body).status_code == 409
        assert CommitmentLink.objects.count() == 1
        # Expected data has no target: any number of them, same role or not.
        for title in ("Budget 2019", "Budget 2020"):
            assert self.post(url, {"title": title, "role": "fulfils"}).status_code == 201
        assert CommitmentLink.objects.count() == 3

    def test_messages_name_codes(self):
        """Pages word codes by their labels (tests/web/test_forms_errors.py); the API keeps them.

        In French, the API's default language (as udata's).
        """
        commitment = CommitmentFactory()
        dataset = DatasetFactory()
        url = f"{API}/commitments/{commitment.id}/links/"
        element = {"class": "Dataset", "id": str(dataset.id)}
        response = self.post(url, {"element": element, "role": "owns"})
        assert response.json["errors"]["role"] == [
            "Rôle inconnu 'owns' ; valeurs possibles : fulfils, contributes, evidence, related."
        ]
        assert self.post(url, {"element": element, "role": "evidence"}).status_code == 201
        response = self.post(url, {"element": element, "role": "evidence"})
        assert response.status_code == 409
        assert response.json["message"].endswith("avec le rôle 'evidence'.")
        response = self.post(
            f"{API}/commitments/{commitment.id}/status/", {"status": "done", "rationale": "x"}
        )
        codes = "not_started, limited, substantial, complete"
        assert response.json["errors"]["status"] == [
            f"Statut inconnu 'done' ; valeurs possibles : {codes}."
        ]

    @pytest.mark.parametrize(
        "body,field",
        [
            ({"role": "owns"}, "role"),
            ({"role": ["fulfils"]}, "role"),
            ({"milestone": "9.9", "title": "x"}, "milestone"),
            ({"note": "no element, no title"}, "title"),
            ({"elephant": 1, "title": "x"}, "elephant"),
        ],
    )
    def test_bad_link_body(self, body, field):
        commitment = CommitmentFactory()
        response = self.post(f"{API}/commitments/{commitment.id}/links/", body)
        assert response.status_code == 400, response.json
        assert field in response.json["errors"], response.json

    def test_expected_data_link(self):
        commitment = CommitmentFactory(milestones=[MilestoneFactory(number="1.1")])
        response = self.post(
            f"{API}/commitments/{commitment.id}/links/",
            {"title": "Registre des subventions", "role": "fulfils", "milestone": "1.1"},
        )
        assert response.status_code == 201, response.json
        assert response.json["element"] is None
        assert response.json["expected"] is True
        assert response.json["milestone"] == "1.1"

    @pytest.mark.parametrize(
        "body,field",
        [
            ({"role": "owns"}, "role"),
            ({"target_id": "0" * 24}, "target_id"),
            ({"note": 3}, "note"),
            ({"role": None}, "role"),
        ],
    )
    def test_bad_link_update(self, body, field):
        link = CommitmentLinkFactory()
        response = self.put(f"{API}/links/{link.id}/", body)
        assert response.status_code == 400, response.json
        assert field in response.json["errors"], response.json


class SwaggerTest(OgpAPITestCase):
    def test_swagger_has_ogp_paths_and_validates(self):
        response = self.get(url_for("api.specs"))
        assert response.status_code == 200
        paths = response.json["paths"]
        for path in (
            "/ogp/plans/",
            "/ogp/plans/{plan}/",
            "/ogp/commitments/",
            "/ogp/commitments/{commitment}/",
            "/ogp/commitments/{commitment}/status/",
            "/ogp/commitments/{commitment}/links/",
            "/ogp/links/",
            "/ogp/links/{link}/",
        ):
            assert path in paths, path
        params = {p["name"] for p in paths["/ogp/commitments/"]["get"]["parameters"]}
        assert {"plan", "status", "axis", "lead_institution", "policy_area"} <= params
        assert {"ogp_value", "health", "q", "sort", "page", "page_size"} <= params
        schemas.validate(response.json)


class PrivateTargetApiTest(OgpAPITestCase):
    def test_someone_elses_private_dataset_answers_like_a_missing_one(self):
        """Linking must not reveal that a private dataset exists."""
        commitment = CommitmentFactory()
        private = DatasetFactory(private=True, owner=UserFactory())
        self.login(UserFactory())
        url = f"{API}/commitments/{commitment.id}/links/"
        hidden = self.post(url, {"element": {"class": "Dataset", "id": str(private.id)}})
        missing = self.post(url, {"element": {"class": "Dataset", "id": "0" * 24}})
        assert hidden.status_code == missing.status_code == 404
        assert hidden.json["message"].replace(str(private.id), "?") == missing.json[
            "message"
        ].replace("0" * 24, "?")

    def test_producer_is_told_their_own_dataset_is_private(self):
        commitment = CommitmentFactory()
        producer = UserFactory()
        private = DatasetFactory(private=True, owner=producer)
        self.login(producer)
        url = f"{API}/commitments/{commitment.id}/links/"
        element = {"element": {"class": "Dataset", "id": str(private.id)}}
        # Messages follow the request's language: French by default in tests, `?lang=en` asked.
        response = self.post(url, element)
        assert response.status_code == 400
        assert "privé" in response.json["message"]
        # The test keeps one app context across requests, where flask-babel caches the locale
        # (a served request has its own): forget it, as a new request would.
        flask_babel.refresh()
        response = self.post(f"{url}?lang=en", element)
        assert response.status_code == 400
        assert "private" in response.json["message"]
        assert "element.id" in response.json["errors"]
        assert CommitmentLink.objects.count() == 0
