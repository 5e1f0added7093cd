"""The review queue's proposals: title similarity (pure)."""

from __future__ import annotations

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
