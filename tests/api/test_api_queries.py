"""Listing 500 commitments or links costs the same database commands as listing 10.

Counted with a pymongo `CommandListener`, which sees commands only on a wire-protocol backend
(mongomock sends no events): runs with `OGP_TEST_DB=secantus` or a MongoDB URL.
`bench/api_queries.py` prints the same counts.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
from bson import ObjectId
from pymongo import monitoring
from udata.core.dataset.factories import DatasetFactory
from udata.core.organization.factories import OrganizationFactory
from udata.core.user.factories import UserFactory

from tests import OgpAPITestCase
from udata_ogp.factories import ActionPlanFactory
from udata_ogp.models import Commitment, CommitmentLink, StatusChange, keywords_for

API = "/api/1/ogp"
# The largest page: 500 items are 5 pages; what matters is that a full page of 100 costs
# what a page of 10 costs, i.e. nothing is loaded per item.
PAGE = 100


class CommandCounter(monitoring.CommandListener):
    def __init__(self) -> None:
        self.enabled = False
        self.commands: Counter = Counter()

    def started(self, event) -> None:
        if self.enabled and event.command_name not in ("endSessions", "hello", "isMaster"):
            self.commands[event.command_name] += 1

    def succeeded(self, event) -> None:
        pass

    def failed(self, event) -> None:
        pass


COUNTER = CommandCounter()
if os.environ.get("OGP_TEST_DB_URL"):
    # Registered before udata creates its client, so that the client reports to it.
    monitoring.register(COUNTER)


def count_commands(client_call) -> tuple[int, dict]:
    COUNTER.commands.clear()
    COUNTER.enabled = True
    try:
        response = client_call()
    finally:
        COUNTER.enabled = False
    assert response.status_code == 200, response.json
    return sum(COUNTER.commands.values()), dict(COUNTER.commands)


def add_commitments(plan, org, user, dataset, start: int, count: int) -> None:
    """Bulk-inserted, each with an owner, a status change by a user and a link."""
    commitments = [
        Commitment(
            id=ObjectId(),
            plan=plan,
            number=start + i,
            title=f"Engagement {start + i}",
            slug=f"engagement-{start + i}",
            organization=org,
            published=True,
            keywords=keywords_for(f"Engagement {start + i}"),
            status="limited",
            status_history=[
                StatusChange(at=plan.created_at, by=user, status_to="limited", rationale="r")
            ],
            milestones=[],
        )
        for i in range(count)
    ]
    Commitment.objects.insert(commitments, load_bulk=False)
    CommitmentLink.objects.insert(
        [
            CommitmentLink(
                commitment=c,
                plan=plan,
                target_class="Dataset",
                target_id=dataset.id,
                role="fulfils",
                linked_by=user,
            )
            for c in commitments
        ],
        load_bulk=False,
    )


def measure(test, plan, dataset, commitment) -> dict[str, tuple[int, dict]]:
    return {
        "commitments": count_commands(
            lambda: test.get(f"{API}/commitments/?page_size={PAGE}&plan={plan.id}")
        ),
        "links of a dataset": count_commands(
            lambda: test.get(f"{API}/links/?dataset={dataset.id}&page_size={PAGE}")
        ),
        "links of a plan": count_commands(
            lambda: test.get(f"{API}/links/?plan={plan.id}&page_size={PAGE}")
        ),
        "links of a commitment": count_commands(
            lambda: test.get(f"{API}/commitments/{commitment.id}/links/?page_size={PAGE}")
        ),
    }


def scenario(test) -> dict[int, dict[str, tuple[int, dict]]]:
    """Counts for 10, then 500 commitments (and as many links to one dataset)."""
    plan = ActionPlanFactory()
    org = OrganizationFactory()
    user = UserFactory()
    dataset = DatasetFactory()
    add_commitments(plan, org, user, dataset, 1, 10)
    first = Commitment.objects(plan=plan, number=1).first()
    # The first commitment gets 10 links, then 110: its listing is a full page too.
    for _ in range(9):
        CommitmentLink(
            commitment=first, target_class="Dataset", target_id=DatasetFactory().id, role="related"
        ).save()
    results = {10: measure(test, plan, dataset, first)}
    add_commitments(plan, org, user, dataset, 11, 490)
    for _ in range(PAGE):
        CommitmentLink(
            commitment=first, target_class="Dataset", target_id=ObjectId(), role="evidence"
        ).save()
    assert Commitment.objects(plan=plan).count() == 500
    assert CommitmentLink.objects.for_target("Dataset", dataset.id).count() == 500
    results[500] = measure(test, plan, dataset, first)
    return results


@pytest.mark.skipif(
    not os.environ.get("OGP_TEST_DB_URL"),
    reason="mongomock sends no command events: run with OGP_TEST_DB=secantus",
)
class QueryCountTest(OgpAPITestCase):
    def test_listing_cost_does_not_grow_with_items(self):
        results = scenario(self)
        for name in results[10]:
            small, large = results[10][name][0], results[500][name][0]
            print(f"{name}: 10 → {small} commands {results[10][name][1]}; 500 → {large}")
            assert small == large, (name, results[10][name], results[500][name])
