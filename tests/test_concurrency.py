"""Concurrent writes: status changes keep one history chain; imports of one plan make one plan.

Threads in one process share the database client: against SecantusDB (OGP_TEST_DB=secantus)
their requests really interleave on the server; on mongomock they interleave between calls.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib.resources import files

import pytest
from udata.core.user.factories import AdminFactory

from tests import OgpAPITestCase, OgpDBTestCase
from udata_ogp import actions, claims
from udata_ogp.errors import Conflict
from udata_ogp.factories import ActionPlanFactory, CommitmentFactory
from udata_ogp.models import ActionPlan, Commitment
from udata_ogp.plans.importing import import_plan

REFERENCE_PATH = str(files("udata_ogp.data").joinpath("fr-action-plan-2018-2020.json"))
REFERENCE = files("udata_ogp.data").joinpath("fr-action-plan-2018-2020.json").read_bytes()
PLAN_TITLE = "Plan d'action 2018-2020"

STATUSES = ["not_started", "limited", "substantial", "complete", "limited"]


def run_together(tasks: list[Callable[[], object]]) -> list[object]:
    """Run every task in its own thread, all released at once; results or raised exceptions."""
    barrier = threading.Barrier(len(tasks))
    results: list[object] = [None] * len(tasks)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = tasks[index]()
        except Exception as exc:  # collected: the test looks at each outcome
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(tasks))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def assert_chain(commitment: Commitment) -> None:
    history = commitment.status_history
    assert history[0].status_from is None
    for before, after in zip(history, history[1:], strict=False):
        assert after.status_from == before.status_to, [
            (h.status_from, h.status_to) for h in history
        ]
    assert commitment.status == history[-1].status_to


class StatusChangeConcurrencyTest(OgpDBTestCase):
    def test_concurrent_changes_keep_the_chain(self):
        commitment = CommitmentFactory()
        # Each writer read the commitment before any of them wrote: all saw status None.
        readers = [Commitment.objects.get(id=commitment.id) for _ in STATUSES]

        def change(reader: Commitment, status: str):
            return lambda: actions.change_status(
                reader, status=status, rationale=f"to {status}", check=False
            )

        results = run_together([change(r, s) for r, s in zip(readers, STATUSES, strict=True)])
        assert not [r for r in results if isinstance(r, Exception)], results
        commitment.reload()
        assert len(commitment.status_history) == len(STATUSES)
        assert sorted(h.rationale for h in commitment.status_history) == sorted(
            f"to {s}" for s in STATUSES
        )
        assert_chain(commitment)
        # What each writer returned is the entry it wrote, with the `from` it really replaced.
        assert {(c.status_from, c.status_to) for c in results} == {
            (h.status_from, h.status_to) for h in commitment.status_history
        }

    def test_stale_reader_records_the_real_previous_status(self):
        commitment = CommitmentFactory()
        stale = Commitment.objects.get(id=commitment.id)
        actions.change_status(commitment, status="limited", rationale="first", check=False)
        change = actions.change_status(stale, status="complete", rationale="second", check=False)
        assert (change.status_from, change.status_to) == ("limited", "complete")
        assert stale.status == "complete"
        commitment.reload()
        assert_chain(commitment)

    def test_refused_while_its_plan_is_imported(self):
        plan = import_plan(REFERENCE).plan
        c5 = Commitment.objects.get(plan=plan, number=5)
        hold_claim(timedelta(minutes=5))
        with pytest.raises(claims.ImportInProgress) as error:
            actions.change_status(c5, status="complete", rationale="done", check=False)
        assert error.value.status == 409 and error.value.field == "status"
        assert Commitment.objects.get(id=c5.id).status_history == c5.status_history
        ActionPlan._get_db()[claims.COLLECTION].delete_many({})
        hold_claim(timedelta(seconds=-1))  # a crashed import's claim blocks nothing
        assert actions.change_status(c5, status="complete", rationale="done", check=False)

    def test_conflict_after_too_many_attempts(self, monkeypatch):
        monkeypatch.setattr(actions, "STATUS_CHANGE_ATTEMPTS", 1)
        commitment = CommitmentFactory()
        stale = Commitment.objects.get(id=commitment.id)
        actions.change_status(commitment, status="limited", rationale="first", check=False)
        with pytest.raises(Conflict) as error:
            actions.change_status(stale, status="complete", rationale="second", check=False)
        assert error.value.status == 409 and error.value.field == "status"
        commitment.reload()
        assert [h.status_to for h in commitment.status_history] == ["limited"]


def reference_identity() -> str:
    # The claim's key is the plan as the importer matches it: read from a dry run's plan.
    from udata_ogp.plans import document as pf

    plan = pf.load(REFERENCE).doc["plan"]
    return claims.plan_identity(plan["country"], plan["title"])


def hold_claim(expires_in: timedelta) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    ActionPlan._get_db()[claims.COLLECTION].insert_one(
        {"_id": reference_identity(), "token": "other", "expires_at": now + expires_in}
    )


def assert_one_whole_plan() -> ActionPlan:
    plan = ActionPlan.objects.get()  # one, never two
    assert Commitment.objects(plan=plan).count() == 21
    assert Commitment.objects.count() == 21
    return plan


class ImportConcurrencyTest(OgpDBTestCase):
    def imports(self, count: int) -> list[object]:
        def one():
            with self.app.app_context():
                return import_plan(REFERENCE)

        return run_together([one] * count)

    def test_concurrent_imports_make_one_plan(self):
        results = self.imports(4)
        assert_one_whole_plan()
        errors = [r for r in results if isinstance(r, Exception)]
        assert all(isinstance(e, claims.ImportInProgress) for e in errors), errors
        assert all(e.status == 409 for e in errors)
        reports = [r for r in results if not isinstance(r, Exception)]
        # Exactly one import created the plan; any later winner found it all unchanged.
        assert sum(1 for r in reports if r.created) == 1
        assert ActionPlan._get_db()[claims.COLLECTION].count_documents({}) == 0  # released

    def test_claim_held_refuses_then_is_released(self):
        hold_claim(timedelta(minutes=5))
        with pytest.raises(claims.ImportInProgress) as error:
            import_plan(REFERENCE)
        assert error.value.status == 409 and PLAN_TITLE in error.value.message
        assert ActionPlan.objects.count() == 0
        # A dry run writes nothing and needs no claim.
        assert import_plan(REFERENCE, dry_run=True).created

    def test_expired_claim_is_taken_over(self):
        hold_claim(timedelta(seconds=-1))
        assert import_plan(REFERENCE).created
        assert_one_whole_plan()
        assert ActionPlan._get_db()[claims.COLLECTION].count_documents({}) == 0

    def test_new_plan_hidden_until_its_commitments_are_written(self, mocker):
        seen = []
        save = Commitment.save

        def spy(commitment, *args, **kwargs):
            raw = ActionPlan._get_collection().find_one({"_id": commitment.plan.pk})
            seen.append(raw["published"])
            return save(commitment, *args, **kwargs)

        mocker.patch.object(Commitment, "save", spy)
        plan = import_plan(REFERENCE).plan
        assert seen and not any(seen)
        assert ActionPlan.objects.get(id=plan.id).published is True

    def test_refused_write_undoes_a_new_plan(self, mocker):
        # Another plan takes OGP id FR0034 while the import writes: the import must not leave
        # a plan without its commitments.
        other = CommitmentFactory(ogp_id="FR0034")
        real = Commitment.save

        def save(commitment, *args, **kwargs):
            if commitment.ogp_id == "FR0034" and commitment.pk != other.pk:
                Commitment.objects(id=other.id).update_one(set__ogp_id="FR0034")
            return real(commitment, *args, **kwargs)

        Commitment.objects(id=other.id).update_one(unset__ogp_id=True)  # free when validated
        mocker.patch.object(Commitment, "save", save)
        with pytest.raises(Conflict) as error:
            import_plan(REFERENCE)
        assert error.value.status == 409 and error.value.field == "ogp_id"
        assert "commitment 5 (FR0034)" in error.value.message
        assert ActionPlan.objects(title=PLAN_TITLE).count() == 0
        assert list(Commitment.objects) == [other]
        assert ActionPlan._get_db()[claims.COLLECTION].count_documents({}) == 0

    def test_any_failure_while_writing_leaves_no_half_plan(self, mocker):
        real = Commitment.save

        def save(commitment, *args, **kwargs):
            if commitment.number == 3:
                raise RuntimeError("connection lost")
            return real(commitment, *args, **kwargs)

        mocker.patch.object(Commitment, "save", save)
        with pytest.raises(RuntimeError):
            import_plan(REFERENCE)
        assert ActionPlan.objects.count() == 0 and Commitment.objects.count() == 0
        assert ActionPlan._get_db()[claims.COLLECTION].count_documents({}) == 0

    def test_status_changed_meanwhile_undoes_an_update(self, mocker):
        plan = import_plan(REFERENCE).plan
        c1 = Commitment.objects.get(plan=plan, number=1)
        c5 = Commitment.objects.get(plan=plan, number=5)
        data = json.loads(REFERENCE)
        edited = json.dumps(_retitled(data, {1, 5})).encode()
        real = Commitment.save

        def save(commitment, *args, **kwargs):
            if commitment.number == 5:
                # An editor's change that checked for an import just before this one began.
                mocker.patch.object(actions, "import_in_progress", return_value=False)
                actions.change_status(c5, status="complete", rationale="done", check=False)
            return real(commitment, *args, **kwargs)

        mocker.patch.object(Commitment, "save", save)
        with pytest.raises(Conflict) as error:
            import_plan(edited)
        assert error.value.field == "status"
        # The import's write of commitment 1 was undone; the editor's change stands.
        assert Commitment.objects.get(id=c1.id).title == c1.title
        c5 = Commitment.objects.get(id=c5.id)
        assert c5.title != "Retitled" and c5.status == "complete"
        assert [h.status_to for h in c5.status_history][-1] == "complete"


def _retitled(data: dict, numbers: set[int]) -> dict:
    """The reference file with the titles of some commitments changed."""
    for commitment in data["commitments"]:
        if commitment.get("numero", commitment.get("number")) in numbers:
            for key in ("titre", "title"):
                if key in commitment:
                    commitment[key] = "Retitled"
    return data


class ImportConcurrencyApiTest(OgpAPITestCase):
    def test_api_answers_409_while_an_import_runs(self):
        hold_claim(timedelta(minutes=5))
        with self.api_user(AdminFactory()):
            response = self.client.post(
                "/api/1/ogp/plans/import/",
                data={"file": (io.BytesIO(REFERENCE), "plan.json")},
                headers={"X-API-KEY": self._api_key},
                content_type="multipart/form-data",
            )
        assert response.status_code == 409, response.json
        assert PLAN_TITLE in response.json["message"]
        assert response.json["errors"] == {"plan": [response.json["message"]]}
        assert ActionPlan.objects.count() == 0

    def test_cli_says_so_and_fails(self):
        hold_claim(timedelta(minutes=5))
        result = self.cli("ogp", "import", REFERENCE_PATH, expect_error=True)
        assert result.exit_code == 1
        assert PLAN_TITLE in result.output
        assert ActionPlan.objects.count() == 0

    def test_concurrent_plan_creations_never_share_a_slug(self, mocker):
        """The slug field picks a free slug by reading: two creations at once both pick it."""
        from udata.mongo import slug_fields

        first = ActionPlanFactory(title="Plan 2030")
        real = slug_fields.populate_slug
        calls = []

        def raced(instance, field):
            # The first pick reads the collection before `first` was written (simulated).
            if isinstance(instance, ActionPlan):
                calls.append(1)
            if len(calls) == 1 and isinstance(instance, ActionPlan):
                setattr(instance, field.db_field, field.slugify(instance.title))
                return
            return real(instance, field)

        self.login(AdminFactory())
        mocker.patch.object(slug_fields, "populate_slug", raced)
        response = self.client.post(
            "/api/1/ogp/plans/",
            data=json.dumps({"country": "FR", "title": "Plan 2030"}),
            headers={"Content-Type": "application/json"},
        )
        slugs = [p.slug for p in ActionPlan.objects]
        assert len(slugs) == len(set(slugs)), slugs
        # MongoDB names the index at fault, and udata then picks the next free slug; a server
        # that does not (mongomock) gets a 409 naming the field.
        if response.status_code == 409:
            assert response.json["errors"] == {"slug": [response.json["message"]]}
        else:
            assert response.status_code == 201, response.json
            assert response.json["slug"] != first.slug
