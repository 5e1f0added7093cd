"""The review queue's proposals: title similarity (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from udata_ogp.delivery.similarity import THRESHOLD, is_similar, similar, words

SIMILAR = [
    ("données de valeurs foncières", "Demandes de valeurs foncières (DVF)"),
    ("valeurs foncières", "Demandes de valeurs foncières géolocalisées"),
    (
        "Données essentielles de la commande publique",
        "Données essentielles de la commande publique - fichiers consolidés",
    ),
    (
        "Données essentielles de la commande publique",
        "Données essentielles des marchés publics de la région Grand Est",
    ),
    (
        "Répertoire des représentants d'intérêts",
        "Répertoire numérique des représentants d'intérêts (HATVP)",
    ),
    ("Base adresse nationale (BAN)", "BAN"),
]
DISSIMILAR = [
    ("Base adresse nationale", "Répertoire national des associations"),
    (
        "Impact de l'ouverture des données publiques (indicateurs)",
        "Observatoire de la dématérialisation de qualité - Tableau de bord des démarches phares",
    ),
    ("Budget", "Base adresse nationale"),
    ("Données", "Données"),
]


@pytest.mark.parametrize("a, b", SIMILAR)
def test_similar(a, b):
    assert is_similar(a, b) and is_similar(b, a)
    assert similar(a, b) >= THRESHOLD


@pytest.mark.parametrize("a, b", DISSIMILAR)
def test_not_similar(a, b):
    assert not is_similar(a, b)


def test_words_fold_accents_stop_words_numbers_and_plurals():
    assert words("Les Données de VALEURS foncières 2019") == {"valeur", "foncier"}
    assert words("publique") == words("publics") and words("nationale") == words("national")
    assert similar("Valeurs foncières", "valeurs foncieres") == 1.0
    assert similar(None, "x") == 0.0


# ---------------------------------------------------------------------------------------------
# propose(): what the sweep puts in the review queue
# ---------------------------------------------------------------------------------------------

import threading  # noqa: E402

from udata.core.dataset.factories import DatasetFactory  # noqa: E402
from udata.core.organization.factories import OrganizationFactory  # noqa: E402

from tests import OgpDBTestCase  # noqa: E402
from udata_ogp.delivery.proposing import propose  # noqa: E402
from udata_ogp.factories import (  # noqa: E402
    CommitmentFactory,
    CommitmentLinkFactory,
    DeliverableFactory,
)
from udata_ogp.models import DeliverableRules, Proposal  # noqa: E402


def _rule_deliverable(org, **rules):
    return DeliverableFactory(
        target=None,
        title="Les données de valeurs foncières",
        rules=DeliverableRules(organizations=[str(org.id)], **rules),
        commitment=CommitmentFactory(organization=org),
    )


class ProposeTest(OgpDBTestCase):
    def test_a_near_miss_is_proposed_with_the_rules_it_fails(self):
        org = OrganizationFactory()
        deliverable = _rule_deliverable(org, tags=["dvf"])
        near = DatasetFactory(organization=org, title="Demandes de valeurs foncières (DVF)")
        DatasetFactory(organization=org, title="Base adresse nationale")  # dissimilar
        assert propose().as_dict() == {"created": 1, "skipped": 0}
        [proposal] = Proposal.objects
        assert (proposal.kind, proposal.deliverable.id) == ("deliverable_target", deliverable.id)
        assert (proposal.target_class, proposal.target_id) == ("Dataset", near.id)
        assert proposal.reasons == ["similar_title", "rule_failed:tags"]
        assert proposal.snapshot.title == near.title and proposal.state == "open"
        # A second run makes nothing new.
        assert propose().as_dict() == {"created": 0, "skipped": 1}
        assert Proposal.objects.count() == 1

    def test_hidden_datasets_are_never_proposed(self):
        org = OrganizationFactory()
        _rule_deliverable(org, tags=["dvf"])
        # Distinct titles (slugs), all similar: years are not words that count.
        title = "Demandes de valeurs foncières"
        DatasetFactory(organization=org, title=f"{title} 2019", private=True)
        DatasetFactory(organization=org, title=f"{title} 2020", archived=datetime.now(UTC))
        DatasetFactory(organization=org, title=f"{title} 2021", deleted=datetime.now(UTC))
        assert propose().created == 0
        assert Proposal.objects.count() == 0

    def test_a_rejected_proposal_is_not_made_again(self):
        org = OrganizationFactory()
        _rule_deliverable(org, tags=["dvf"])
        DatasetFactory(organization=org, title="Demandes de valeurs foncières")
        propose()
        Proposal.objects.update(set__state="rejected")
        assert propose().created == 0
        assert Proposal.objects.count() == 1

    def test_a_dataset_meeting_every_rule_is_not_proposed(self):
        org = OrganizationFactory()
        _rule_deliverable(org)
        DatasetFactory(organization=org, title="Demandes de valeurs foncières")
        assert propose().created == 0

    def test_expected_data_gets_a_same_organisation_dataset(self):
        org = OrganizationFactory()
        commitment = CommitmentFactory(organization=org)
        link = CommitmentLinkFactory(
            commitment=commitment,
            target=None,
            target_class=None,
            target_id=None,
            title="Répertoire des représentants d'intérêts",
        )
        match = DatasetFactory(
            organization=org, title="Répertoire numérique des représentants d'intérêts (HATVP)"
        )
        DatasetFactory(title="Répertoire numérique des représentants d'intérêts")  # other org
        assert propose(commitment=commitment.id).created == 1
        [proposal] = Proposal.objects
        assert (proposal.kind, proposal.link.id, proposal.target_id) == (
            "expected_data",
            link.id,
            match.id,
        )

    def test_concurrent_runs_make_each_proposal_once(self):
        org = OrganizationFactory()
        _rule_deliverable(org, tags=["dvf"])
        DatasetFactory(organization=org, title="Demandes de valeurs foncières")
        errors = []

        def run():
            try:
                propose()
            except Exception as error:  # pragma: no cover - what the test would report
                errors.append(error)

        threads = [threading.Thread(target=run) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert Proposal.objects.count() == 1
