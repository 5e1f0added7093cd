"""Deliverables through the API: the permission matrix, bad input, what the data says, and what
a reader may see of the objects that deliver them."""

from __future__ import annotations

import pytest
from udata.core.dataset.factories import DatasetFactory
from udata.models import Dataset

from tests import OgpAPITestCase
from tests.api.test_api_permissions import ROLES, build_world
from udata_ogp.delivery.sweep import check_deliverables
from udata_ogp.factories import CommitmentFactory, DeliverableFactory
from udata_ogp.models import Commitment, Deliverable

API = "/api/1/ogp"


def _call(case, user, method, url, body=None):
    send = getattr(case, method)
    if user is None:
        return send(url, body) if body is not None else send(url)
    with case.api_user(user):
        return send(url, body) if body is not None else send(url)


class DeliverablePermissionTest(OgpAPITestCase):
    """anonymous 401, producer / other user 403, commitment editor and administrator allowed."""

    @pytest.mark.parametrize("role", ROLES)
    @pytest.mark.parametrize("route", ["create", "update", "delete"])
    def test_matrix(self, route, role):
        w = build_world()
        existing = DeliverableFactory(commitment=w.commitment, target=w.dataset, title="Avant")
        user = w.users[role]
        if route == "create":
            body = {
                "title": "Les données",
                "element": {"class": "Dataset", "id": str(w.dataset.id)},
            }
            response = _call(
                self, user, "post", f"{API}/commitments/{w.commitment.id}/deliverables/", body
            )
            done = Deliverable.objects(title="Les données").count() == 1
        elif route == "update":
            response = _call(
                self, user, "put", f"{API}/deliverables/{existing.id}/", {"title": "Après"}
            )
            done = Deliverable.objects.get(id=existing.id).title == "Après"
        else:
            response = _call(self, user, "delete", f"{API}/deliverables/{existing.id}/")
            done = Deliverable.objects(id=existing.id).count() == 0
        allowed = role in {"editor", "admin"}
        expected = (
            {"create": 201, "update": 200, "delete": 204}[route]
            if allowed
            else (401 if role == "anonymous" else 403)
        )
        assert response.status_code == expected, (route, role, response.json)
        assert done is allowed

    @pytest.mark.parametrize("role", ROLES)
    def test_everyone_reads_a_published_commitments_deliverables(self, role):
        w = build_world()
        DeliverableFactory(commitment=w.commitment, target=w.dataset)
        response = _call(
            self, w.users[role], "get", f"{API}/commitments/{w.commitment.id}/deliverables/"
        )
        assert response.status_code == 200
        assert response.json["total"] == 1

    @pytest.mark.parametrize("role", ROLES)
    def test_a_drafts_deliverables_are_for_its_editors(self, role):
        w = build_world()
        draft = CommitmentFactory(
            plan=w.plan, published=False, organization=w.commitment.organization
        )
        deliverable = DeliverableFactory(commitment=draft, target=w.dataset)
        listing = _call(self, w.users[role], "get", f"{API}/commitments/{draft.id}/deliverables/")
        one = _call(self, w.users[role], "get", f"{API}/deliverables/{deliverable.id}/")
        expected = 200 if role in {"editor", "admin"} else 404
        assert (listing.status_code, one.status_code) == (expected, expected)


class DeliverableInputTest(OgpAPITestCase):
    def _post(self, body):
        w = build_world()
        with self.api_user(w.users["admin"]):
            response = self.post(f"{API}/commitments/{w.commitment.id}/deliverables/", body)
        return response

    @pytest.mark.parametrize(
        "body, field",
        [
            ({"element": None}, "title"),
            ({"title": "T"}, "rules"),
            ({"title": "T", "rules": {"colour": "red"}}, "rules.colour"),
            ({"title": "T", "rules": {"tags": "dvf"}}, "rules.tags"),
            ({"title": "T", "rules": {"tags": ["x"], "frequency": "sometimes"}}, "rules.frequency"),
            ({"title": "T", "rules": {"tags": ["x"], "min_resources": "2"}}, "rules.min_resources"),
            ({"title": "T", "rules": {"tags": ["x"], "fresh": "yes"}}, "rules.fresh"),
            ({"title": "T", "rules": {"formats": ["csv"]}}, "rules"),
            ({"title": "T", "rules": {"organizations": ["nope"]}}, "rules.organizations.0"),
            (
                {"title": "T", "rules": {"organizations": ["5f0c2a1b2c3d4e5f6a7b8c9d"]}},
                "rules.organizations.0",
            ),
            (
                {
                    "title": "T",
                    "rules": {"tags": ["x"]},
                    "element": {"class": "Dataset", "id": "x"},
                },
                "rules",
            ),
            ({"title": "T", "element": {"class": "Topic", "id": "x"}}, "element.class"),
            ({"title": "T", "rules": {"tags": ["x"]}, "due": "demain"}, "due"),
            ({"title": "T", "rules": {"tags": ["x"]}, "milestone": "9.9"}, "milestone"),
            ({"title": "T", "rules": {"tags": ["x"]}, "state": "met"}, "state"),
            ({"title": 3, "rules": {"tags": ["x"]}}, "title"),
        ],
    )
    def test_bad_input_is_a_400_naming_the_field(self, body, field):
        response = self._post(body)
        assert response.status_code == 400, response.json
        assert field in response.json.get("errors", {}), response.json
        assert Deliverable.objects.count() == 0

    def test_bad_input_on_update_changes_nothing(self):
        w = build_world()
        deliverable = DeliverableFactory(commitment=w.commitment, target=w.dataset, title="Avant")
        with self.api_user(w.users["admin"]):
            response = self.put(
                f"{API}/deliverables/{deliverable.id}/", {"title": "Après", "rules": {"tags": 1}}
            )
        assert response.status_code == 400
        assert "rules.tags" in response.json["errors"]
        assert Deliverable.objects.get(id=deliverable.id).title == "Avant"


class DeliverableVerificationTest(OgpAPITestCase):
    def test_rules_are_evaluated_when_declared_and_when_changed(self):
        w = build_world()
        DatasetFactory(tags=["dvf"], title="Demandes de valeurs foncières")
        with self.api_user(w.users["editor"]):
            created = self.post(
                f"{API}/commitments/{w.commitment.id}/deliverables/",
                {"title": "Les données de valeurs foncières", "rules": {"tags": ["dvf"]}},
            )
            assert created.status_code == 201, created.json
            assert created.json["state"] == "met"
            assert [m["title"] for m in created.json["matches"]] == [
                "Demandes de valeurs foncières"
            ]
            assert created.json["proof"]["items"][0]["title"] == "Demandes de valeurs foncières"
            changed = self.put(
                f"{API}/deliverables/{created.json['id']}/", {"rules": {"tags": ["nothing-has-it"]}}
            )
        assert changed.status_code == 200
        # Met before, not any more: a withdrawal, kept in the history with the first proof.
        assert changed.json["state"] != "met"
        assert changed.json["delivered_at"] is not None
        commitment = self.get(f"{API}/commitments/{w.commitment.id}/").json
        assert commitment["verification"]["deliverables"] == 1
        assert commitment["verification"]["met"] == 0

    def test_verification_filter(self):
        w = build_world()
        DeliverableFactory(commitment=w.commitment, target=w.dataset)
        other = CommitmentFactory(plan=w.plan)
        check_deliverables()
        assert Commitment.objects.get(id=w.commitment.id).verification["summary"] == "verified"
        verified = self.get(f"{API}/commitments/?verification=verified").json
        assert [c["id"] for c in verified["data"]] == [str(w.commitment.id)]
        none = self.get(f"{API}/commitments/?verification=none").json
        assert str(other.id) in [c["id"] for c in none["data"]]
        assert str(w.commitment.id) not in [c["id"] for c in none["data"]]
        bad = self.get(f"{API}/commitments/?verification=maybe")
        assert bad.status_code == 400
        assert "verification" in bad.json["errors"]

    @pytest.mark.parametrize("role", ROLES)
    def test_a_match_made_private_is_hidden_from_all_but_its_readers(self, role):
        w = build_world()
        deliverable = DeliverableFactory(commitment=w.commitment, target=w.dataset)
        check_deliverables()
        Dataset.objects(id=w.dataset.id).update(set__private=True)
        shown = _call(self, w.users[role], "get", f"{API}/deliverables/{deliverable.id}/").json
        [item] = shown["proof"]["items"]
        if role in {"producer", "editor", "admin"}:
            assert item["title"] == w.dataset.title
            assert shown["element"]["id"] == str(w.dataset.id)
        else:
            assert shown["element"] == {"class": "Dataset", "id": None, "hidden": True}
            assert (item["class"], item["id"], item["hidden"], item["title"]) == (
                "Dataset",
                None,
                True,
                None,
            )
            assert w.dataset.title not in str(shown)

    def test_the_proof_outlives_a_hard_deleted_dataset(self):
        w = build_world()
        deliverable = DeliverableFactory(commitment=w.commitment, target=w.dataset)
        check_deliverables()
        title = w.dataset.title
        Dataset.objects(id=w.dataset.id).delete()
        check_deliverables()
        shown = self.get(f"{API}/deliverables/{deliverable.id}/").json
        assert shown["state"] == "breached"
        assert shown["proof"]["items"][0]["title"] == title
        assert [e["state_to"] for e in shown["history"]][:2] == ["breached", "met"]

    def test_deliverables_are_in_the_openapi(self):
        paths = self.get("/api/1/swagger.json").json["paths"]
        assert "/ogp/commitments/{commitment}/deliverables/" in paths
        assert set(paths["/ogp/deliverables/{deliverable}/"]) >= {"get", "put", "delete"}
