"""The review queue through the API: who sees and decides it, and what a decision does."""

from __future__ import annotations

import pytest
from udata.core.dataset.factories import DatasetFactory
from udata.models import Dataset

from tests import OgpAPITestCase
from tests.api.test_api_permissions import ROLES, build_world
from udata_ogp.factories import CommitmentLinkFactory, DeliverableFactory
from udata_ogp.models import CommitmentLink, Deliverable, DeliverableRules, Proposal
from udata_ogp.targets import snapshot_of

API = "/api/1/ogp"


def _call(case, user, method, url, body=None):
    send = getattr(case, method)
    if user is None:
        return send(url, body) if body is not None else send(url)
    with case.api_user(user):
        return send(url, body) if body is not None else send(url)


def _proposal(w, dataset=None, kind="deliverable_target"):
    dataset = dataset or DatasetFactory(title="Demandes de valeurs foncières")
    if kind == "deliverable_target":
        subject = DeliverableFactory(
            commitment=w.commitment, target=None, rules=DeliverableRules(tags=["dvf"])
        )
        extra = {"deliverable": subject}
    else:
        subject = CommitmentLinkFactory(
            commitment=w.commitment,
            target=None,
            target_class=None,
            target_id=None,
            title="Les valeurs foncières",
        )
        extra = {"link": subject}
    return Proposal(
        commitment=w.commitment,
        kind=kind,
        target_class="Dataset",
        target_id=dataset.id,
        snapshot=snapshot_of(dataset),
        reasons=["similar_title", "rule_failed:tags"],
        key=Proposal.key_for(kind, subject.id, "Dataset", dataset.id),
        **extra,
    ).save()


EDITORS = {"editor", "admin"}


class ProposalPermissionTest(OgpAPITestCase):
    @pytest.mark.parametrize("role", ROLES)
    @pytest.mark.parametrize("route", ["list", "accept", "reject"])
    def test_matrix(self, route, role):
        w = build_world()
        proposal = _proposal(w)
        user = w.users[role]
        if route == "list":
            response = _call(self, user, "get", f"{API}/commitments/{w.commitment.id}/proposals/")
        else:
            response = _call(self, user, "post", f"{API}/proposals/{proposal.id}/{route}/", {})
        expected = 200 if role in EDITORS else (401 if role == "anonymous" else 403)
        assert response.status_code == expected, (route, role, response.json)
        state = Proposal.objects.get(id=proposal.id).state
        if route == "list" and role in EDITORS:
            assert [p["id"] for p in response.json["data"]] == [str(proposal.id)]
        elif route != "list":
            assert state == (
                {"accept": "accepted", "reject": "rejected"}[route] if role in EDITORS else "open"
            )


class ProposalDecisionTest(OgpAPITestCase):
    def test_accepting_makes_the_dataset_the_deliverables_target(self):
        w = build_world()
        proposal = _proposal(w)
        with self.api_user(w.users["editor"]):
            response = self.post(
                f"{API}/proposals/{proposal.id}/accept/", {"reason": "C'est elle."}
            )
            again = self.post(f"{API}/proposals/{proposal.id}/reject/", {})
        assert response.status_code == 200, response.json
        assert (response.json["state"], response.json["reason"]) == ("accepted", "C'est elle.")
        deliverable = Deliverable.objects.get(id=proposal.deliverable.id)
        assert (deliverable.target_id, deliverable.rules) == (proposal.target_id, None)
        assert deliverable.state == "met"  # evaluated at once
        assert again.status_code == 409
        assert Proposal.objects.get(id=proposal.id).state == "accepted"

    def test_accepting_gives_the_expected_data_its_dataset(self):
        w = build_world()
        proposal = _proposal(w, kind="expected_data")
        with self.api_user(w.users["admin"]):
            response = self.post(f"{API}/proposals/{proposal.id}/accept/", {})
        assert response.status_code == 200, response.json
        link = CommitmentLink.objects.get(id=proposal.link.id)
        assert link.target_id == proposal.target_id
        assert link.snapshot.title == "Demandes de valeurs foncières"

    def test_a_dataset_made_private_since_cannot_be_accepted(self):
        w = build_world()
        proposal = _proposal(w)
        Dataset.objects(id=proposal.target_id).update(set__private=True)
        with self.api_user(w.users["admin"]):
            response = self.post(f"{API}/proposals/{proposal.id}/accept/", {})
        assert response.status_code == 400
        assert "element.id" in response.json["errors"]
        assert Proposal.objects.get(id=proposal.id).state == "open"

    @pytest.mark.parametrize(
        "body, field",
        [({"reason": 3}, "reason"), ({"reason": "x" * 20000}, "reason"), ({"why": "x"}, "why")],
    )
    def test_bad_input_is_a_400_naming_the_field(self, body, field):
        w = build_world()
        proposal = _proposal(w)
        with self.api_user(w.users["admin"]):
            response = self.post(f"{API}/proposals/{proposal.id}/reject/", body)
        assert response.status_code == 400
        assert field in response.json["errors"]
        assert Proposal.objects.get(id=proposal.id).state == "open"

    def test_state_filter_and_openapi(self):
        w = build_world()
        _proposal(w)
        decided = _proposal(w)
        Proposal.objects(id=decided.id).update(set__state="rejected")
        with self.api_user(w.users["editor"]):
            open_ = self.get(f"{API}/commitments/{w.commitment.id}/proposals/?state=open").json
        assert open_["total"] == 1
        paths = self.get("/api/1/swagger.json").json["paths"]
        assert "/ogp/proposals/{proposal}/accept/" in paths
