"""Concurrent writes: status changes keep one history chain; imports of one plan make one plan.

Threads in one process share the database client: against SecantusDB (OGP_TEST_DB=secantus)
their requests really interleave on the server; on mongomock they interleave between calls.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from tests import OgpDBTestCase
from udata_ogp import actions
from udata_ogp.errors import Conflict
from udata_ogp.factories import CommitmentFactory
from udata_ogp.models import Commitment

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
