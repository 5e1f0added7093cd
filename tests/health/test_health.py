"""The pure health rules, called with plain dicts: no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from udata_ogp.health.rules import HealthSettings, diagnose, evaluate, overdue, reason_code

NOW = datetime(2026, 11, 22, 12, 0)
SETTINGS = HealthSettings(grace_days=2, failures_before_flag=2)


def dataset(**kwargs):
    doc = {
        "deleted": None,
        "archived": None,
        "private": False,
        "frequency": "unknown",
        "last_update": NOW - timedelta(days=3),
        "resources": [{"_id": "r1", "extras": {}}],
    }
    doc.update(kwargs)
    return doc


def codes(reasons):
    return [reason_code(r) for r in reasons]


class DiagnoseTest:
    def test_ok(self):
        assert diagnose("Dataset", dataset(), NOW) == ("ok", [])

    def test_gone(self):
        assert diagnose("Dataset", None, NOW) == ("gone", ["gone"])

    def test_deleted_wins(self):
        raw = dataset(deleted=NOW, archived=NOW, private=True)
        assert diagnose("Dataset", raw, NOW) == ("broken", ["deleted"])

    def test_archived_and_private_named(self):
        health, reasons = diagnose("Dataset", dataset(archived=NOW, private=True), NOW)
        assert health == "stale"
        assert reasons == ["archived", "private"]

    def test_dataservice_uses_its_own_field_names(self):
        raw = {"deleted_at": None, "archived_at": NOW, "private": False}
        assert diagnose("Dataservice", raw, NOW) == ("stale", ["archived"])
        assert diagnose("Dataservice", {**raw, "deleted_at": NOW}, NOW) == ("broken", ["deleted"])

    def test_archived_by_the_harvester_says_why(self):
        # udata 17.11 renamed the field: `harvest.archived_reason` is what the harvester writes.
        raw = dataset(archived=NOW, harvest={"archived_reason": "not-on-remote"})
        assert diagnose("Dataset", raw, NOW) == ("stale", ["archived:not-on-remote"])
        service = {"deleted_at": None, "archived_at": NOW, "private": False}
        service["harvest"] = {"archived_reason": "not-on-remote"}
        assert diagnose("Dataservice", service, NOW) == ("stale", ["archived:not-on-remote"])
        # Harvested but archived by hand: the plain reason.
        assert diagnose("Dataset", dataset(archived=NOW, harvest={"domain": "x"}), NOW)[1] == [
            "archived"
        ]

    def test_reuse_private(self):
        raw = {"deleted": None, "archived": None, "private": True}
        assert diagnose("Reuse", raw, NOW) == ("stale", ["private"])

    def test_overdue_uses_udata_rule_with_one_day_tolerance(self):
        # Daily: next update due 1 day after last_update; one more day of tolerance.
        assert not overdue("daily", NOW - timedelta(days=1, hours=23), NOW)
        assert overdue("daily", NOW - timedelta(days=3, hours=1), NOW)
        # Frequencies without a delta are never late, nor is an unknown one.
        assert not overdue("irregular", NOW - timedelta(days=3000), NOW)
        assert not overdue("unknown", NOW - timedelta(days=3000), NOW)
        assert not overdue(None, NOW - timedelta(days=3000), NOW)
        assert not overdue("not-a-frequency", NOW - timedelta(days=3000), NOW)

    def test_overdue_reason(self):
        raw = dataset(frequency="weekly", last_update=NOW - timedelta(days=30))
        assert diagnose("Dataset", raw, NOW) == ("stale", ["overdue"])

    def test_promised_frequency_stricter(self):
        raw = dataset(frequency="annual", last_update=NOW - timedelta(days=40))
        assert diagnose("Dataset", raw, NOW) == ("ok", [])
        assert diagnose("Dataset", raw, NOW, "monthly") == ("stale", ["overdue_promised"])

    def test_aware_datetimes_and_strings(self):
        raw = dataset(frequency="daily", last_update=(NOW - timedelta(days=5)).replace(tzinfo=UTC))
        assert codes(diagnose("Dataset", raw, NOW.replace(tzinfo=UTC))[1]) == ["overdue"]

    def test_no_resources(self):
        assert diagnose("Dataset", dataset(resources=[]), NOW) == ("stale", ["no_resources"])

    def test_resources_unavailable_some_and_all(self):
        bad = {
            "_id": "r2",
            "extras": {
                "check:available": False,
                "check:status": 404,
                "check:date": "2026-11-20T10:00:00+00:00",
            },
        }
        good = {"_id": "r1", "extras": {"check:available": True, "check:status": 200}}
        health, reasons = diagnose("Dataset", dataset(resources=[good, bad]), NOW)
        assert health == "stale"
        assert reasons == ["resources_unavailable", "resource_unavailable:r2:404:2026-11-20"]
        health, reasons = diagnose("Dataset", dataset(resources=[bad]), NOW)
        assert health == "broken"

    def test_status_only_and_unknown_availability(self):
        only_status = {"_id": "r3", "extras": {"check:status": 500}}
        assert diagnose("Dataset", dataset(resources=[only_status]), NOW)[0] == "broken"
        rate_limited = {"_id": "r4", "extras": {"check:status": 429}}
        assert diagnose("Dataset", dataset(resources=[rate_limited]), NOW) == ("ok", [])
        unknown = {"_id": "r5", "extras": {"check:available": "unknown"}}
        assert diagnose("Dataset", dataset(resources=[unknown]), NOW) == ("ok", [])


class EvaluateTest:
    def test_first_check_applies_at_once(self):
        ev = evaluate({}, "Dataset", dataset(archived=NOW), NOW, SETTINGS)
        assert ev.health == "stale"
        assert ev.changes["health"] == "stale"
        assert ev.changes["reasons"] == ["archived"]
        assert ev.changes["health_since"] == NOW
        assert ev.changes["first_failure"] == NOW
        assert ev.changes["failure_count"] == 1
        assert ev.event == {
            "at": NOW,
            "health_from": "unknown",
            "health_to": "stale",
            "reasons": ["archived"],
        }

    def test_ok_first_check(self):
        ev = evaluate({"health": "unknown"}, "Dataset", dataset(), NOW, SETTINGS)
        assert ev.health == "ok"
        assert ev.changes["last_ok"] == NOW
        assert ev.event["health_to"] == "ok"

    def test_steady_state_changes_nothing(self):
        state = {"health": "ok", "reasons": [], "failure_count": 0, "last_ok": NOW}
        assert not evaluate(state, "Dataset", dataset(), NOW, SETTINGS).changed
        state = {
            "health": "stale",
            "reasons": ["archived"],
            "failure_count": 1,
            "first_failure": NOW - timedelta(days=9),
        }
        assert not evaluate(state, "Dataset", dataset(archived=NOW), NOW, SETTINGS).changed

    def test_hysteresis_needs_failures_and_grace(self):
        ok = {"health": "ok", "reasons": [], "failure_count": 0}
        raw = dataset(archived=NOW)
        ev1 = evaluate(ok, "Dataset", raw, NOW, SETTINGS)
        assert ev1.health == "ok" and ev1.event is None
        assert ev1.changes == {"first_failure": NOW, "failure_count": 1}
        state = {**ok, **ev1.changes}
        # Second failure, but within the grace period: still ok.
        later = NOW + timedelta(days=1)
        ev2 = evaluate(state, "Dataset", raw, later, SETTINGS)
        assert ev2.health == "ok" and ev2.changes == {"failure_count": 2}
        state.update(ev2.changes)
        # Past the grace period and enough failures: flips, with an event.
        flip = NOW + timedelta(days=2)
        ev3 = evaluate(state, "Dataset", raw, flip, SETTINGS)
        assert ev3.health == "stale"
        assert ev3.event["health_from"] == "ok"
        assert ev3.changes["health_since"] == flip
        assert "first_failure" not in ev3.changes  # since when it fails is kept
        state.update(ev3.changes)
        assert state["first_failure"] == NOW
        # Settled: the next sweep writes nothing.
        assert not evaluate(state, "Dataset", raw, flip + timedelta(days=1), SETTINGS).changed

    def test_single_bad_check_then_recovery_does_not_flip(self):
        ok = {"health": "ok", "reasons": [], "failure_count": 0}
        bad = dataset(resources=[{"_id": "r", "extras": {"check:available": False}}])
        ev1 = evaluate(ok, "Dataset", bad, NOW, SETTINGS)
        state = {**ok, **ev1.changes}
        ev2 = evaluate(state, "Dataset", dataset(), NOW + timedelta(days=3), SETTINGS)
        assert ev2.health == "ok" and ev2.event is None
        assert ev2.changes == {"failure_count": 0, "first_failure": None}

    def test_gone_and_deleted_are_immediate(self):
        ok = {"health": "ok", "reasons": [], "failure_count": 0}
        assert evaluate(ok, "Dataset", None, NOW, SETTINGS).health == "gone"
        assert evaluate(ok, "Dataset", dataset(deleted=NOW), NOW, SETTINGS).health == "broken"

    def test_recovery_is_immediate(self):
        state = {
            "health": "broken",
            "reasons": ["deleted"],
            "failure_count": 1,
            "first_failure": NOW - timedelta(days=1),
        }
        ev = evaluate(state, "Dataset", dataset(), NOW, SETTINGS)
        assert ev.health == "ok"
        assert ev.changes["reasons"] == []
        assert ev.changes["last_ok"] == NOW
        assert ev.event == {"at": NOW, "health_from": "broken", "health_to": "ok", "reasons": []}

    def test_reason_change_without_health_change_has_no_event(self):
        state = {
            "health": "stale",
            "reasons": ["archived"],
            "failure_count": 1,
            "first_failure": NOW - timedelta(days=1),
        }
        ev = evaluate(state, "Dataset", dataset(private=True), NOW, SETTINGS)
        assert ev.health == "stale" and ev.event is None
        assert ev.changes["reasons"] == ["private"]
