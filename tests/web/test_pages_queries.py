"""The commitment page costs the same number of database commands for 10 and 500 links.

mongomock sends no pymongo events, so this runs on a wire-protocol backend only
(`OGP_TEST_DB=secantus` or a MongoDB URL). The listener is registered at import, before the
test apps create their clients: pymongo attaches global listeners to clients created later.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
from bson import ObjectId
from pymongo import monitoring

from tests import OgpAPITestCase
from tests.web.test_pages import DVF, build_france_plan

# Handshakes and housekeeping are not queries a page makes.
IGNORED = {
    "hello",
    "ismaster",
    "isMaster",
    "ping",
    "endSessions",
    "buildInfo",
    "buildinfo",
    "saslStart",
    "saslContinue",
    "killCursors",
    "getLastError",
}


class CommandCounter(monitoring.CommandListener):
    def __init__(self) -> None:
        self.active = False
        self.commands: Counter = Counter()

    def started(self, event) -> None:
        if self.active and event.command_name not in IGNORED:
            collection = event.command.get(event.command_name)
            self.commands[(event.command_name, str(collection))] += 1

    def succeeded(self, event) -> None:
        pass

    def failed(self, event) -> None:
        pass


COUNTER = CommandCounter()
monitoring.register(COUNTER)


def count_commands(client, url: str) -> tuple[int, Counter, bytes]:
    """Commands one GET of `url` sends, and the page."""
    COUNTER.commands = Counter()
    COUNTER.active = True
    try:
        response = client.get(url)
    finally:
        COUNTER.active = False
    assert response.status_code == 200
    return sum(COUNTER.commands.values()), COUNTER.commands, response.data


def add_links(commitment, organization, count: int) -> None:
    """`count` more dataset links, written in bulk (the factories would take minutes)."""
    from udata.models import Dataset

    from udata_ogp.models import CommitmentLink, LinkSnapshot

    ids = [ObjectId() for _index in range(count)]
    datasets = [
        Dataset(
            id=oid,
            title=f"Jeu de données ministériel {oid}",
            slug=f"jeu-de-donnees-ministeriel-{oid}",
            organization=organization,
        )
        for oid in ids
    ]
    Dataset._get_collection().insert_many([d.to_mongo() for d in datasets])
    links = [
        CommitmentLink(
            commitment=commitment,
            plan=commitment.plan,
            target_class="Dataset",
            target_id=dataset.id,
            # After the fixture's links of every role, so page 1 keeps a dataset and a reuse.
            role="related",
            note="Publié par un administrateur ministériel des données.",
            health="ok" if index % 3 else "stale",
            reasons=[] if index % 3 else ["overdue"],
            snapshot=LinkSnapshot(title=dataset.title, organization=organization.name),
        )
        for index, dataset in enumerate(datasets)
    ]
    CommitmentLink._get_collection().insert_many([link.to_mongo() for link in links])


def measure(client, data) -> dict:
    """Commands and HTML size of the commitment page with 10 links, then 500."""
    from udata_ogp.models import CommitmentLink, Deliverable

    url = f"/ogp/commitments/{data['c5'].slug}/"
    # mongoengine creates a collection's indexes the first time a process uses it: once per
    # process, not a query of the page (the page reads the deliverables since issue 12).
    Deliverable._get_collection()
    result = {}
    for total in (10, 500):
        missing = total - CommitmentLink.objects(commitment=data["c5"]).count()
        add_links(data["c5"], data["etalab"], missing)
        count, detail, html = count_commands(client, url)
        result[total] = {
            "commands": count,
            "detail": dict(detail),
            "bytes": len(html),
            "html": html,
        }
    return result


@pytest.mark.skipif(
    not os.environ.get("OGP_TEST_DB_URL"),
    reason="mongomock sends no command events: run with OGP_TEST_DB=secantus (or a MongoDB URL)",
)
class PageQueriesTest(OgpAPITestCase):
    def test_same_queries_for_10_and_500_links(self):
        data = build_france_plan()
        result = measure(self.client, data)
        small, large = result[10], result[500]
        print(f"\n10 links: {small['commands']} commands, {small['bytes']} bytes")
        print(f"500 links: {large['commands']} commands, {large['bytes']} bytes")
        print("detail (10):", small["detail"])
        print("detail (500):", large["detail"])
        assert small["commands"] > 0, "the listener saw nothing: was it registered too late?"
        assert small["commands"] == large["commands"], (small["detail"], large["detail"])
        assert large["bytes"] < 300_000
        assert DVF.encode() in large["html"]


def add_deliverables(commitment, organization, count: int, matches: int = 4) -> None:
    """`count` met deliverables, each with `matches` matching datasets (one private), a proof and
    a history, written in bulk with the fields the delivery sweep fills."""
    from datetime import UTC, datetime

    from udata.models import Dataset

    from udata_ogp.models import (
        Deliverable,
        DeliverableEvent,
        DeliverableRules,
        DeliveryMatch,
        LinkSnapshot,
        Proof,
        ProofItem,
        ProofResource,
    )

    at = datetime(2019, 3, 12, tzinfo=UTC)
    deliverables = []
    for index in range(count):
        datasets = [
            Dataset(
                id=ObjectId(),
                title=f"Livrable {index}, jeu {number}",
                slug=f"livrable-{index}-jeu-{number}-{ObjectId()}",
                organization=organization,
                private=number == 0,
            )
            for number in range(matches)
        ]
        Dataset._get_collection().insert_many([d.to_mongo() for d in datasets])

        def snapshot(dataset):
            return LinkSnapshot(
                title=dataset.title, organization=organization.name, public=not dataset.private
            )

        proof = Proof(
            at=at,
            items=[
                ProofItem(
                    target_class="Dataset",
                    target_id=dataset.id,
                    snapshot=snapshot(dataset),
                    license="lov2",
                    resources=[ProofResource(url="https://example.org/a.csv", format="csv")],
                )
                for dataset in datasets
            ],
        )
        deliverables.append(
            Deliverable(
                commitment=commitment,
                plan=commitment.plan,
                title=f"Livrable {index}",
                milestone="5.1",
                rules=DeliverableRules(organizations=[str(organization.id)], tags=[f"t{index}"]),
                state="met",
                delivered_at=at,
                matches=[
                    DeliveryMatch(
                        target_class="Dataset", target_id=dataset.id, snapshot=snapshot(dataset)
                    )
                    for dataset in datasets
                ],
                proof=proof,
                history=[
                    DeliverableEvent(at=at, state_from="pending", state_to="met", proof=proof)
                ],
            )
        )
    Deliverable._get_collection().insert_many([d.to_mongo() for d in deliverables])


@pytest.mark.skipif(
    not os.environ.get("OGP_TEST_DB_URL"),
    reason="mongomock sends no command events: run with OGP_TEST_DB=secantus (or a MongoDB URL)",
)
class DeliverablesQueriesTest(OgpAPITestCase):
    def test_same_queries_for_1_and_20_deliverables(self):
        from udata.models import License

        from udata_ogp.models import Deliverable

        data = build_france_plan()
        url = f"/ogp/commitments/{data['c5'].slug}/"
        # First use of the collection in the process: mongoengine creates its indexes once.
        License._get_collection()
        result = {}
        for total in (1, 20):
            missing = total - Deliverable.objects(commitment=data["c5"]).count()
            add_deliverables(data["c5"], data["etalab"], missing)
            result[total] = count_commands(self.client, url)
        (small, small_detail, _html), (large, large_detail, html) = result[1], result[20]
        print(f"\n1 deliverable: {small} commands; 20 deliverables: {large} commands")
        assert small == large, (dict(small_detail), dict(large_detail))
        assert html.count(b'class="ogp-deliverable ogp-deliverable--met"') == 20
        assert b"Livrable 0, jeu 3" in html
        # The private match is not named to an anonymous reader.
        assert b"Livrable 0, jeu 0" not in html
