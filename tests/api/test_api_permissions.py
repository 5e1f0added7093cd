"""Who may write what through the API: five kinds of caller × every write route.

The world: a published plan with no owner (the portal's), a published commitment owned by an
organisation whose editor is the "commitment editor", a dataset produced by the "producer"
(already linked to the commitment), another dataset produced by "another producer".
Callers authenticate with udata API keys, as a front or a script would.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.resources import files

import pytest
from udata.core.dataset.factories import DatasetFactory
from udata.core.organization.factories import OrganizationFactory
from udata.core.organization.models import Member
from udata.core.user.factories import AdminFactory, UserFactory

from tests import OgpAPITestCase
from udata_ogp.factories import ActionPlanFactory, CommitmentFactory, CommitmentLinkFactory
from udata_ogp.models import ActionPlan, Commitment, CommitmentLink

API = "/api/1/ogp"
REFERENCE = files("udata_ogp.data").joinpath("fr-action-plan-2018-2020.json").read_bytes()
ROLES = ("anonymous", "producer", "other_producer", "editor", "admin")


@dataclass
class World:
    users: dict
    plan: ActionPlan
    commitment: Commitment
    dataset: object
    other_dataset: object
    link: CommitmentLink


def build_world() -> World:
    editor = UserFactory()
    org = OrganizationFactory(members=[Member(user=editor, role="editor")])
    producer, other = UserFactory(), UserFactory()
    plan = ActionPlanFactory()
    commitment = CommitmentFactory(plan=plan, organization=org)
    dataset = DatasetFactory(owner=producer)
    other_dataset = DatasetFactory(owner=other)
    link = CommitmentLinkFactory(commitment=commitment, target=dataset, role="contributes")
    users = {
        "anonymous": None,
        "producer": producer,
        "other_producer": other,
        "editor": editor,
        "admin": AdminFactory(),
    }
    return World(users, plan, commitment, dataset, other_dataset, link)


# route name → (method, url, body) built from the world
def _route(name: str, w: World):
    c, p = w.commitment.id, w.plan.id
    element = {"class": "Dataset", "id": str(w.dataset.id)}
    return {
        "create_plan": ("post", f"{API}/plans/", {"country": "FR", "title": "Nouveau plan"}),
        "update_plan": ("put", f"{API}/plans/{p}/", {"title": "Titre modifié"}),
        "delete_plan": ("delete", f"{API}/plans/{p}/", None),
        "create_commitment": (
            "post",
            f"{API}/commitments/",
            {"plan": str(p), "number": 99, "title": "Nouvel engagement"},
        ),
        "update_commitment": (
            "put",
            f"{API}/commitments/{c}/",
            {"title": "Engagement modifié", "milestones": [{"number": "1.1", "title": "J"}]},
        ),
        "delete_commitment": ("delete", f"{API}/commitments/{c}/", None),
        "change_status": (
            "post",
            f"{API}/commitments/{c}/status/",
            {"status": "substantial", "rationale": "Publié", "evidence_url": "https://x.fr"},
        ),
        "create_link": (
            "post",
            f"{API}/commitments/{c}/links/",
            {"element": element, "role": "fulfils", "note": "Publié"},
        ),
        "update_link": ("put", f"{API}/links/{w.link.id}/", {"note": "Mieux dit"}),
        "delete_link": ("delete", f"{API}/links/{w.link.id}/", None),
        "import_plan": ("post", f"{API}/plans/import/", json.loads(REFERENCE)),
    }[name]


OK = {"post": 201, "put": 200, "delete": 204}

# route → roles allowed (everybody else: 401 when anonymous, 403 otherwise)
ALLOWED = {
    "create_plan": {"admin"},
    "update_plan": {"admin"},
    "delete_plan": {"admin"},
    "create_commitment": {"admin"},
    "update_commitment": {"editor", "admin"},
    "delete_commitment": {"admin"},
    "change_status": {"editor", "admin"},
    "create_link": {"producer", "editor", "admin"},
    "update_link": {"producer", "editor", "admin"},
    "delete_link": {"producer", "editor", "admin"},
    "import_plan": {"admin"},
}


def _effect(name: str, w: World) -> bool:
    """Whether the write happened (checked in the database, not in the answer)."""
    if name == "create_plan":
        return ActionPlan.objects(title="Nouveau plan").count() == 1
    if name == "update_plan":
        return ActionPlan.objects.get(id=w.plan.id).title == "Titre modifié"
    if name == "delete_plan":
        return ActionPlan.objects(id=w.plan.id).count() == 0
    if name == "create_commitment":
        return Commitment.objects(number=99).count() == 1
    if name == "update_commitment":
        return Commitment.objects.get(id=w.commitment.id).title == "Engagement modifié"
    if name == "delete_commitment":
        return Commitment.objects(id=w.commitment.id).count() == 0
    if name == "change_status":
        return Commitment.objects.get(id=w.commitment.id).status == "substantial"
    if name == "create_link":
        return CommitmentLink.objects(role="fulfils").count() == 1
    if name == "update_link":
        return CommitmentLink.objects.get(id=w.link.id).note == "Mieux dit"
    if name == "delete_link":
        return CommitmentLink.objects(id=w.link.id).count() == 0
    if name == "import_plan":
        return ActionPlan.objects.count() == 2
    raise AssertionError(name)


class PermissionMatrixTest(OgpAPITestCase):
    @pytest.mark.parametrize("role", ROLES)
    @pytest.mark.parametrize("route", list(ALLOWED))
    def test_matrix(self, route, role):
        w = build_world()
        method, url, body = _route(route, w)
        user = w.users[role]
        if user is None:
            response = getattr(self, method)(url, body) if body else getattr(self, method)(url)
        else:
            with self.api_user(user):
                response = getattr(self, method)(url, body) if body else getattr(self, method)(url)
        if role in ALLOWED[route]:
            expected = OK[method]
        else:
            expected = 401 if role == "anonymous" else 403
        assert response.status_code == expected, (route, role, response.json)
        assert _effect(route, w) is (role in ALLOWED[route]), (route, role)


class LinkRulesTest(OgpAPITestCase):
    def test_producer_cannot_link_what_they_do_not_edit(self):
        w = build_world()
        with self.api_user(w.users["producer"]):
            response = self.post(
                f"{API}/commitments/{w.commitment.id}/links/",
                {"element": {"class": "Dataset", "id": str(w.other_dataset.id)}},
            )
        assert response.status_code == 403
        assert CommitmentLink.objects.count() == 1

    def test_producer_cannot_link_to_draft_commitment(self):
        w = build_world()
        draft = CommitmentFactory(plan=w.plan, published=False)
        with self.api_user(w.users["producer"]):
            response = self.post(
                f"{API}/commitments/{draft.id}/links/",
                {"element": {"class": "Dataset", "id": str(w.dataset.id)}},
            )
        # The draft is not readable by the producer: its existence does not leak.
        assert response.status_code == 404

    def test_producer_cannot_remove_others_links(self):
        w = build_world()
        others = CommitmentLinkFactory(commitment=w.commitment, target=w.other_dataset)
        with self.api_user(w.users["producer"]):
            assert self.delete(f"{API}/links/{others.id}/").status_code == 403
            assert self.put(f"{API}/links/{others.id}/", {"note": "x"}).status_code == 403
        assert CommitmentLink.objects(id=others.id).count() == 1

    def test_org_member_producer(self):
        """A dataset owned by an organisation: its members are its producers."""
        w = build_world()
        member = UserFactory()
        org = OrganizationFactory(members=[Member(user=member, role="admin")])
        dataset = DatasetFactory(organization=org)
        with self.api_user(member):
            response = self.post(
                f"{API}/commitments/{w.commitment.id}/links/",
                {"element": {"class": "Dataset", "id": str(dataset.id)}, "note": "n"},
            )
        assert response.status_code == 201, response.json
        assert response.json["linked_by"]["id"] == str(member.id)

    def test_session_auth_works_like_api_key(self):
        w = build_world()
        self.login(w.users["editor"])
        response = self.post(
            f"{API}/commitments/{w.commitment.id}/status/",
            {"status": "limited", "rationale": "Début"},
        )
        assert response.status_code == 201

    def test_plan_org_member_edits_plan_and_its_commitments(self):
        user = UserFactory()
        org = OrganizationFactory(members=[Member(user=user, role="editor")])
        plan = ActionPlanFactory(organization=org)
        commitment = CommitmentFactory(plan=plan)
        with self.api_user(user):
            assert self.put(f"{API}/plans/{plan.id}/", {"title": "T"}).status_code == 200
            assert (
                self.put(f"{API}/commitments/{commitment.id}/", {"title": "T"}).status_code == 200
            )
            response = self.post(
                f"{API}/commitments/", {"plan": str(plan.id), "number": 50, "title": "N"}
            )
            assert response.status_code == 201, response.json

    def test_editor_cannot_move_commitment_to_plan_they_do_not_edit(self):
        w = build_world()
        other_plan = ActionPlanFactory()
        with self.api_user(w.users["editor"]):
            response = self.put(
                f"{API}/commitments/{w.commitment.id}/", {"plan": str(other_plan.id)}
            )
        assert response.status_code == 403
        assert Commitment.objects.get(id=w.commitment.id).plan.id == w.plan.id

    def test_revoked_or_bad_api_key_401(self):
        w = build_world()
        response = self.put(
            f"{API}/plans/{w.plan.id}/", {"title": "x"}, headers={"X-API-KEY": "nope"}
        )
        assert response.status_code == 401
