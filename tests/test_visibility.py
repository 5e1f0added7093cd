"""One visibility rule for every output: five kinds of reader × pages, exports, feed, badge, API.

The world: a published plan with a published commitment and a draft one, owned by an
organisation whose editor is the "commitment editor". The published commitment is served by
- a dataset of the "producer" that became private after it was linked,
- a dataset of the producer that was private when linked and was then hard-deleted,
- a public dataset, then hard-deleted (its snapshot stays public);
the draft is served by a public dataset. Pages are fetched as a browser does, the API with
udata API keys.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass

import pytest
from bson import ObjectId
from udata.core.dataset.factories import DatasetFactory
from udata.core.organization.factories import OrganizationFactory
from udata.core.organization.models import Member
from udata.core.user.factories import AdminFactory, UserFactory
from udata.models import Dataset

from tests import OgpAPITestCase

# Imported for its command listener, registered before the test apps create their clients.
from tests.web.test_pages_queries import count_commands
from udata_ogp.factories import ActionPlanFactory, CommitmentFactory, CommitmentLinkFactory
from udata_ogp.health.sweep import check_links
from udata_ogp.models import ActionPlan, Commitment, CommitmentLink

API = "/api/1/ogp"
BROWSER = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8",
    "Accept-Language": "fr-FR,fr;q=0.9,en;q=0.8",
}
ROLES = ("anonymous", "producer", "other_user", "editor", "admin")
# Who sees the hidden targets, and who reads the draft commitment.
SEES_HIDDEN = {"producer", "editor", "admin"}
SEES_DRAFT = {"editor", "admin"}

SECRET = "Registre confidentiel des subventions"
VANISHED = "Annuaire interne disparu"
DEPARTED = "Base publique supprimée"
DRAFT_TITLE = "Engagement encore en préparation"
DRAFT_DATA = "Données du brouillon"
NOT_PUBLIC = "Un jeu de données qui n’est pas (ou plus) public"


@dataclass
class World:
    users: dict
    plan: ActionPlan
    commitment: Commitment
    draft: Commitment
    secret: object
    vanished_id: ObjectId
    departed_id: ObjectId
    draft_data: object
    links: dict


def build_world() -> World:
    editor, producer = UserFactory(), UserFactory()
    org = OrganizationFactory(members=[Member(user=editor, role="editor")])
    plan = ActionPlanFactory()
    commitment = CommitmentFactory(plan=plan, organization=org, title="Engagement public")
    draft = CommitmentFactory(plan=plan, organization=org, title=DRAFT_TITLE, published=False)
    secret = DatasetFactory(owner=producer, title=SECRET)
    vanished = DatasetFactory(owner=producer, title=VANISHED, private=True)
    departed = DatasetFactory(owner=producer, title=DEPARTED)
    draft_data = DatasetFactory(owner=producer, title=DRAFT_DATA)
    links = {
        "secret": CommitmentLinkFactory(commitment=commitment, target=secret, note="Secret"),
        "vanished": CommitmentLinkFactory(commitment=commitment, target=vanished, role="related"),
        "departed": CommitmentLinkFactory(commitment=commitment, target=departed, role="evidence"),
        "draft": CommitmentLinkFactory(commitment=draft, target=draft_data),
    }
    # Made private after it was linked; the other two are gone for good.
    Dataset.objects(id=secret.id).update(set__private=True)
    Dataset.objects(id__in=[vanished.id, departed.id]).delete()
    users = {
        "anonymous": None,
        "producer": producer,
        "other_user": UserFactory(),
        "editor": editor,
        "admin": AdminFactory(),
    }
    return World(
        users, plan, commitment, draft, secret, vanished.id, departed.id, draft_data, links
    )


def _badge_count(svg: str) -> int:
    return int(re.search(r"<text[^>]*>(\d+) engagement", svg).group(1))


class VisibilityMatrixTest(OgpAPITestCase):
    @pytest.mark.parametrize("role", ROLES)
    def test_pages(self, role):
        w = build_world()
        user = w.users[role]
        if user is not None:
            self.login(user)
        hidden, draft = role not in SEES_HIDDEN, role not in SEES_DRAFT

        html = self.client.get(f"/ogp/commitments/{w.commitment.slug}/", headers=BROWSER)
        assert html.status_code == 200
        page = html.data.decode()
        assert (SECRET in page) is not hidden, role
        assert (VANISHED in page) is not hidden, role
        assert (w.secret.slug in page) is not hidden, role
        assert DEPARTED in page  # public when it was last seen
        assert (page.count(NOT_PUBLIC) >= 2) is hidden, role
        assert "Secret" in page  # the note and the health stay
        assert (NOT_PUBLIC in page) is hidden

        plan_page = self.client.get(f"/ogp/plans/{w.plan.slug}/", headers=BROWSER).data.decode()
        assert (DRAFT_TITLE in plan_page) is not draft, role

        for fmt in ("json", "csv"):
            export = self.client.get(f"/ogp/plans/{w.plan.slug}/export.{fmt}", headers=BROWSER)
            assert export.status_code == 200
            assert (DRAFT_TITLE in export.data.decode()) is not draft, (role, fmt)
            assert "Engagement public" in export.data.decode()

        feed = self.client.get(f"/ogp/plans/{w.plan.slug}/feed.atom", headers=BROWSER)
        text = feed.data.decode()
        assert (SECRET in text) is not hidden, role
        assert (VANISHED in text) is not hidden, role
        assert DEPARTED in text
        assert (NOT_PUBLIC in text) is hidden, role
        assert (DRAFT_DATA in text) is not draft, role

        badge = self.client.get(f"/ogp/datasets/{w.draft_data.id}/badge.svg", headers=BROWSER)
        assert _badge_count(badge.data.decode()) == (0 if draft else 1), role
        cache = badge.headers["Cache-Control"]
        assert cache.startswith("private" if user is not None else "public"), (role, cache)

    @pytest.mark.parametrize("role", ROLES)
    def test_api(self, role):
        w = build_world()
        user = w.users[role]
        hidden, draft = role not in SEES_HIDDEN, role not in SEES_DRAFT
        if user is None:
            self._check_api(w, role, hidden, draft)
        else:
            with self.api_user(user):
                self._check_api(w, role, hidden, draft)

    def _check_api(self, w, role, hidden, draft):
        response = self.get(f"{API}/commitments/{w.commitment.id}/links/")
        assert response.status_code == 200
        by_id = {item["id"]: item for item in response.json["data"]}
        for name in ("secret", "vanished"):
            item = by_id[str(w.links[name].id)]
            assert item["hidden"] is hidden, (role, name)
            assert item["element"]["class"] == "Dataset"
            assert item["role"] == w.links[name].role and item["health"]
            if hidden:
                assert item["snapshot"] is None and item["target_id"] is None
                assert item["element"]["id"] is None and item["linked_by"] is None
            else:
                assert item["snapshot"]["title"] in (SECRET, VANISHED)
        departed = by_id[str(w.links["departed"].id)]
        assert departed["hidden"] is False and departed["snapshot"]["title"] == DEPARTED
        assert SECRET not in json.dumps(response.json) if hidden else True

        one = self.get(f"{API}/links/{w.links['secret'].id}/").json
        assert one["hidden"] is hidden and (one["snapshot"] is None) is hidden, role

        # Reverse look-up: a hidden link is left out entirely.
        for target_id, expected in (
            (w.secret.id, 0 if hidden else 1),
            (w.vanished_id, 0 if hidden else 1),
            (w.departed_id, 1),
            (w.draft_data.id, 0 if draft else 1),
        ):
            found = self.get(f"{API}/links/?dataset={target_id}").json
            assert found["total"] == expected, (role, target_id, found)
            assert SECRET not in json.dumps(found) if hidden else True

        listed = self.get(f"{API}/commitments/?plan={w.plan.id}").json
        assert (DRAFT_TITLE in json.dumps(listed, ensure_ascii=False)) is not draft, role
        export = self.get(f"{API}/plans/{w.plan.id}/export/")
        if role == "admin":
            assert export.status_code == 200 and DRAFT_TITLE in export.data.decode()
        else:
            assert export.status_code == (401 if role == "anonymous" else 403)

    @pytest.mark.parametrize("role", ROLES)
    def test_link_delete_form(self, role):
        """A draft's link answers like a missing link to those who may not read the draft."""
        w = build_world()
        user = w.users[role]
        if user is not None:
            self.login(user)
        draft_link = w.links["draft"]
        response = self.client.post(f"/ogp/links/{draft_link.id}/delete", headers=BROWSER)
        missing = self.client.post(f"/ogp/links/{ObjectId()}/delete", headers=BROWSER)
        assert missing.status_code == 404
        if role in SEES_DRAFT:
            assert response.status_code == 303
            assert w.draft.slug in response.headers["Location"]
            assert CommitmentLink.objects(id=draft_link.id).count() == 0
        else:
            assert response.status_code == 404, (role, response.headers.get("Location"))
            assert response.data == missing.data
            assert w.draft.slug not in response.data.decode()
            assert CommitmentLink.objects(id=draft_link.id).count() == 1


class HiddenWordingTest(OgpAPITestCase):
    def test_reuse_and_english(self):
        from udata.core.reuse.factories import ReuseFactory

        w = build_world()
        reuse = ReuseFactory(owner=w.users["producer"], title="Réutilisation retirée")
        link = CommitmentLinkFactory(commitment=w.commitment, target=reuse, role="related")
        type(reuse).objects(id=reuse.id).update(set__private=True)
        url = f"/ogp/commitments/{w.commitment.slug}/"
        french = self.client.get(url, headers=BROWSER).data.decode()
        assert "Une réutilisation qui n’est pas (ou plus) publique" in french
        assert "Réutilisation retirée" not in french
        english = self.client.get(f"{url}?lang=en", headers=BROWSER).data.decode()
        assert "A reuse that is not public (any more)" in english
        assert "A dataset that is not public (any more)" in english
        item = self.get(f"{API}/links/{link.id}/").json
        assert item["hidden"] is True and item["element"] == {"class": "Reuse", "id": None}


class SnapshotPublicTest(OgpAPITestCase):
    def test_link_records_whether_target_is_public(self):
        w = build_world()
        assert CommitmentLink.objects.get(id=w.links["secret"].id).snapshot.public is True
        assert CommitmentLink.objects.get(id=w.links["vanished"].id).snapshot.public is False

    def test_sweep_refreshes_snapshot_public(self):
        """Made private then hard-deleted: the sweep saw it private, so it stays hidden."""
        w = build_world()
        check_links()
        link = CommitmentLink.objects.get(id=w.links["secret"].id)
        assert link.snapshot.public is False
        assert link.snapshot.title == SECRET  # the rest of the snapshot is kept
        # Hard-deleted targets keep what was last seen.
        assert CommitmentLink.objects.get(id=w.links["departed"].id).snapshot.public is True
        Dataset.objects(id=w.secret.id).delete()
        found = self.get(f"{API}/links/?dataset={w.secret.id}").json
        assert found["total"] == 0
        page = self.client.get(f"/ogp/commitments/{w.commitment.slug}/", headers=BROWSER)
        assert SECRET not in page.data.decode()
        # Public again (before deletion) is seen by the next sweep.
        other = DatasetFactory(private=True)
        back = CommitmentLinkFactory(commitment=w.commitment, target=other)
        assert back.snapshot.public is False
        Dataset.objects(id=other.id).update(set__private=False)
        check_links()
        assert CommitmentLink.objects.get(id=back.id).snapshot.public is True

    def test_unchanged_sweep_writes_nothing(self):
        build_world()
        check_links()
        assert check_links().written == 0


# ---------------------------------------------------------------------------------------------
# Database commands: the hidden decision costs the same for 10 and 100 hidden links
# ---------------------------------------------------------------------------------------------


def _add_private_links(commitment, producer, count: int) -> None:
    from udata_ogp.models import LinkSnapshot

    ids = [ObjectId() for _index in range(count)]
    Dataset._get_collection().insert_many(
        [
            Dataset(
                id=oid, title=f"Privé {oid}", slug=f"prive-{oid}", owner=producer, private=True
            ).to_mongo()
            for oid in ids
        ]
    )
    CommitmentLink._get_collection().insert_many(
        [
            CommitmentLink(
                commitment=commitment,
                plan=commitment.plan,
                target_class="Dataset",
                target_id=oid,
                role="related",
                snapshot=LinkSnapshot(title=f"Privé {oid}", public=False),
            ).to_mongo()
            for oid in ids
        ]
    )


@pytest.mark.skipif(
    not os.environ.get("OGP_TEST_DB_URL"),
    reason="mongomock sends no command events: run with OGP_TEST_DB=secantus",
)
class HiddenLinksQueryCountTest(OgpAPITestCase):
    def test_hidden_links_cost_does_not_grow(self):
        w = build_world()
        reader = UserFactory()
        urls = [
            f"{API}/commitments/{w.commitment.id}/links/?page_size=100",
            f"{API}/links/?plan={w.plan.id}&page_size=100",
            f"/ogp/commitments/{w.commitment.slug}/",
            f"/ogp/plans/{w.plan.slug}/feed.atom",
        ]
        self.login(reader)
        counts = {}
        for total in (10, 100):
            missing = total - CommitmentLink.objects(commitment=w.commitment).count()
            _add_private_links(w.commitment, w.users["producer"], missing)
            counts[total] = {url: count_commands(self.client, url)[:2] for url in urls}
        for url in urls:
            small, large = counts[10][url], counts[100][url]
            print(url, dict(small[1]), dict(large[1]))
            assert small[0] > 0, "the listener saw nothing: was it registered too late?"
            assert small[0] == large[0], (url, dict(small[1]), dict(large[1]))
        page = self.client.get(urls[2], headers=BROWSER).data.decode()
        assert "Privé" not in page and NOT_PUBLIC in page
