"""The pure stages of the import: wordings, pointers, the reference mapper (no database)."""

from __future__ import annotations

import json
from importlib.resources import files

import pytest

from udata_ogp.plans import document as pf

REFERENCE = json.loads(
    files("udata_ogp.data").joinpath("fr-action-plan-2018-2020.json").read_bytes()
)


@pytest.mark.parametrize(
    "wording,expected",
    [
        ("réalisé", "complete"),
        ("Réalisé", "complete"),
        ("réalisé, actions au fil de l'eau", "complete"),
        ("partiellement réalisé", "limited"),
        ("Réalisation : substantiel", "substantial"),
        ("non traité à ce stade", "not_started"),
        ("non réalisé", "not_started"),
        ("en cours", None),
        ("mis en suspens", None),
        (None, None),
    ],
)
def test_milestone_wordings(wording, expected):
    assert pf.completion_of(wording) == expected


def test_commitment_status_wordings_are_stricter():
    assert pf.completion_of("Substantiel", pf.STATUS_WORDS) == "substantial"
    assert pf.completion_of("limited", pf.STATUS_WORDS) == "limited"
    assert pf.completion_of("partiellement réalisé", pf.STATUS_WORDS) is None


def test_pointers_escape_and_locate():
    assert pf.pointer("a/b", "c~d", 0) == "/a~1b/c~0d/0"
    normalised = pf.Normalised(
        doc={}, origins={"/plan/start": "/action_plan/period/start", "/commitments/0": "line 2"}
    )
    assert normalised.locate("/plan/start") == "/action_plan/period/start"
    assert normalised.locate("/commitments/0/title") == "line 2, at /title"
    assert normalised.locate("/commitments/1/title") == "/commitments/1/title"


def test_reference_maps_to_a_valid_canonical_document():
    normalised = pf.normalise(REFERENCE)
    assert pf.validate(normalised) == []
    five = normalised.doc["commitments"][4]
    assert five["ogp_id"] == "FR0034"
    assert five["ogp_values"] == [
        "access_to_information",
        "public_accountability",
        "technology_innovation",
    ]
    assert [m["number"] for m in five["milestones"]] == ["5.1", "5.2", "5.3", "5.4"]
    assert "commitment_number_in_plan" not in five["source"]["ogp_fr0034"]
    assert normalised.locate("/commitments/4/irm/completion") == "/ogp_fr0034/completion"


def test_ogp_block_must_name_an_existing_commitment():
    data = {
        "action_plan": {"country": "FR", "title": "P"},
        "commitments": [{"number": 1, "title": "Un"}],
        "ogp_fr0001": {"ogp_id": "FR0001", "commitment_number_in_plan": 2},
    }
    with pytest.raises(pf.ProblemList) as info:
        pf.normalise(data)
    assert [(p.pointer, p.message) for p in info.value.problems] == [
        ("/ogp_fr0001/commitment_number_in_plan", "no commitment number 2")
    ]


def test_milestone_number_conflict_is_named():
    data = {
        "action_plan": {"country": "FR", "title": "P"},
        "commitments": [
            {
                "number": 1,
                "title": "Un",
                "milestones": [{"number": "1.1", "title": "J", "ogp_fr0001_milestone": "1.2"}],
            }
        ],
    }
    with pytest.raises(pf.ProblemList) as info:
        pf.normalise(data)
    assert [p.pointer for p in info.value.problems] == [
        "/commitments/0/milestones/0/ogp_fr0001_milestone"
    ]
