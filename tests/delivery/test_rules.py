"""Deliverable rules and states over plain dicts (no database)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest
from bson import ObjectId

from udata_ogp.delivery.rules import (
    DeliverySettings,
    due_end,
    evaluate,
    failed_rules,
    live_public,
    removal_reason,
    verification,
)

NOW = datetime(2026, 6, 15, 12, 0)
SETTINGS = DeliverySettings(at_risk_days=60, grace_days=2, failures_before_flag=2)
ORG = ObjectId()


def dataset(**extra):
    doc = {
        "_id": ObjectId(),
        "organization": ORG,
        "tags": ["ogp", "foncier"],
        "license": "lov2",
        "frequency": "monthly",
        "last_update": NOW - timedelta(days=3),
        "resources": [
            {"url": "https://x/a.csv", "format": "CSV", "schema": {"name": "etalab/dvf"}}
        ],
    }
    doc.update(extra)
    return doc


def match(**extra):
    return {
        "target_class": "Dataset",
        "target_id": ObjectId(),
        "snapshot": None,
        "reasons": [],
        **extra,
    }


def test_due_end_partial_dates():
    assert due_end("2019") == datetime(2019, 12, 31, 23, 59, 59, 999999)
    assert due_end("2019-06").date() == datetime(2019, 6, 30).date()
    assert due_end("2020-02").day == 29
    assert due_end("2019-06-03").date() == datetime(2019, 6, 3).date()
    assert due_end(None) is None and due_end("soon") is None and due_end("2019-13") is None


@pytest.mark.parametrize(
    "rule,doc,failed",
    [
        ({"organizations": [str(ORG)]}, {}, []),
        ({"organizations": [str(ObjectId())]}, {}, ["organizations"]),
        ({"tags": ["ogp", "foncier"]}, {}, []),
        ({"tags": ["ogp", "autre"]}, {}, ["tags"]),
        ({"tags": ["ogp"], "schema": "etalab/dvf"}, {}, []),
        ({"tags": ["ogp"], "schema": "etalab/irve"}, {}, ["schema"]),
        ({"tags": ["ogp"], "open_license": True}, {}, []),
        ({"tags": ["ogp"], "open_license": True}, {"license": "notspecified"}, ["open_license"]),
        ({"tags": ["ogp"], "formats": ["csv", "json"]}, {}, []),
        ({"tags": ["ogp"], "formats": ["json"]}, {}, ["formats"]),
        ({"tags": ["ogp"], "min_resources": 1}, {}, []),
        ({"tags": ["ogp"], "min_resources": 2}, {}, ["min_resources"]),
        ({"tags": ["ogp"], "frequency": "monthly"}, {}, []),
        ({"tags": ["ogp"], "frequency": "annual"}, {}, []),
        ({"tags": ["ogp"], "frequency": "daily"}, {}, ["frequency"]),
        ({"tags": ["ogp"], "frequency": "daily"}, {"frequency": "continuous"}, []),
        ({"tags": ["ogp"], "frequency": "monthly"}, {"frequency": "irregular"}, ["frequency"]),
        ({"tags": ["ogp"], "frequency": "monthly"}, {"frequency": None}, ["frequency"]),
        ({"tags": ["ogp"], "fresh": True}, {}, []),
        (
            {"tags": ["ogp"], "fresh": True},
            {"frequency": "daily", "last_update": NOW - timedelta(days=10)},
            ["fresh"],
        ),
        (
            {"organizations": [str(ObjectId())], "tags": ["x"], "min_resources": 3},
            {},
            ["organizations", "tags", "min_resources"],
        ),
    ],
)
def test_failed_rules(rule, doc, failed):
    assert failed_rules(rule, dataset(**doc), NOW, open_licenses={"lov2"}) == failed


def test_live_public_and_removal():
    assert live_public("Dataset", dataset())
    for extra, reason in [
        ({"private": True}, "private"),
        ({"deleted": NOW}, "deleted"),
        ({"archived": NOW}, "archived"),
    ]:
        assert not live_public("Dataset", dataset(**extra))
        assert removal_reason("Dataset", dataset(**extra)) == reason
    assert not live_public("Dataservice", {"archived_at": NOW})
    assert not live_public("Dataset", None) and removal_reason("Dataset", None) == "gone"
    assert removal_reason("Dataset", dataset()) == "rules"


def state(ev):
    return ev.state, ev.reasons


def test_first_states():
    assert state(evaluate({}, [match()], NOW, SETTINGS)) == ("met", [])
    ev = evaluate({}, [match()], NOW, SETTINGS)
    assert ev.freeze_proof and ev.changes["delivered_at"] == NOW
    assert ev.event == {"at": NOW, "state_from": "unknown", "state_to": "met", "reasons": []}
    assert state(evaluate({}, [], NOW, SETTINGS)) == ("pending", [])
    assert state(evaluate({"due": "2027"}, [], NOW, SETTINGS)) == ("pending", [])
    assert state(evaluate({"due": "2026-07"}, [], NOW, SETTINGS)) == ("at_risk", ["due_soon"])
    assert state(evaluate({"due": "2026-05"}, [], NOW, SETTINGS)) == ("breached", ["due_passed"])
    stale = evaluate({}, [match(reasons=["overdue"])], NOW, SETTINGS)
    assert state(stale) == ("at_risk", ["stale_matches"]) and not stale.freeze_proof


def met_doc(m):
    return {"state": "met", "reasons": [], "delivered_at": NOW - timedelta(days=9), "matches": [m]}


def test_leaving_met_waits_then_withdrawn():
    m = match()
    doc = met_doc(m)
    day1 = evaluate(doc, [], NOW, SETTINGS, removed=["rules"])
    assert state(day1) == ("met", []) and day1.changes == {"first_failure": NOW, "failure_count": 1}
    doc.update(first_failure=NOW, failure_count=1)
    day2 = evaluate(doc, [], NOW + timedelta(days=1), SETTINGS, removed=["rules"])
    assert day2.state == "met" and day2.changes == {"failure_count": 2}
    doc.update(failure_count=2)
    day3 = evaluate(doc, [], NOW + timedelta(days=2), SETTINGS, removed=["rules"])
    assert state(day3) == ("breached", ["withdrawn", "rules"])
    assert day3.changes["matches"] == [] and day3.changes["failure_count"] == 0
    assert day3.event["state_from"] == "met" and not day3.freeze_proof


@pytest.mark.parametrize("why", ["deleted", "gone", "private"])
def test_removal_withdraws_at_once(why):
    ev = evaluate(met_doc(match()), [], NOW, SETTINGS, removed=[why])
    assert state(ev) == ("breached", ["withdrawn", why])
    assert "first_failure" not in ev.changes and "failure_count" not in ev.changes


def test_redelivery_freezes_a_new_proof_and_met_again_does_not():
    withdrawn = {"state": "breached", "reasons": ["withdrawn"], "delivered_at": NOW, "matches": []}
    ev = evaluate(withdrawn, [match()], NOW, SETTINGS)
    assert ev.state == "met" and ev.freeze_proof and "delivered_at" not in ev.changes
    stale = {"state": "at_risk", "reasons": ["stale_matches"], "delivered_at": NOW}
    assert not evaluate(stale, [match()], NOW, SETTINGS).freeze_proof


def test_steady_state_changes_nothing():
    m = match()
    assert not evaluate(met_doc(m), [dict(m)], NOW, SETTINGS).changed
    pending = {"state": "pending", "reasons": [], "matches": []}
    assert not evaluate(pending, [], NOW, SETTINGS).changed


def test_verification_and_discrepancy():
    assert verification("complete", Counter()) == {
        "deliverables": 0, "met": 0, "pending": 0, "at_risk": 0, "breached": 0, "unknown": 0,
        "summary": "none", "discrepancy": None,
    }  # fmt: skip
    v = verification("complete", Counter(met=1, breached=1))
    assert (v["summary"], v["discrepancy"]) == ("breached", "claimed_not_verified")
    v = verification("substantial", Counter(pending=2))
    assert (v["summary"], v["discrepancy"]) == ("unverified", "claimed_not_verified")
    v = verification("limited", Counter(met=2))
    assert (v["summary"], v["discrepancy"], v["met"]) == ("verified", "verified_beyond_claim", 2)
    v = verification("limited", Counter(met=1, pending=1))
    assert (v["summary"], v["discrepancy"]) == ("partial", None)
    assert verification("complete", Counter(met=2))["discrepancy"] is None


def test_the_matches_digest_stands_for_the_matches():
    from udata_ogp.delivery.rules import matches_digest

    m = match(snapshot={"title": "Demandes de valeurs foncières", "public": True})
    first = evaluate({}, [m], NOW, SETTINGS)
    assert first.changes["matches_digest"] == matches_digest([m])
    # Stored with its digest, the sweep reads the matches' ids only: the digest decides.
    doc = {**met_doc({"target_class": m["target_class"], "target_id": m["target_id"]})}
    doc["matches_digest"] = matches_digest([m])
    assert not evaluate(doc, [dict(m)], NOW, SETTINGS).changed
    renamed = {**m, "snapshot": {**m["snapshot"], "title": "Autre titre"}}
    ev = evaluate(doc, [renamed], NOW, SETTINGS)
    assert ev.changes == {"matches": [renamed], "matches_digest": matches_digest([renamed])}
    assert matches_digest([]) != matches_digest([m])
