"""Whether two titles name the same data: pure, no database, no Flask.

Used by the review queue (`udata_ogp.delivery.proposing`) to propose a portal dataset for what
a plan promised ("les données de valeurs foncières") or for expected data. Titles are compared
as sets of content words:

- `models.keywords_for` folds accents and case and splits on anything not a letter or digit;
- French and English stop words go, and so do words every dataset title could carry
  ("données", "data", "jeu"): a promise of "les données de X" is a promise of X;
- numbers go (a year alone must neither make two titles similar nor keep them apart);
- a light stemming folds plurals and feminine forms ("foncières" = "foncier", "nationale" =
  "national", "publique" = "publics"), which French titles mix freely.

The score is the Ochiai (cosine) coefficient of the two sets, `|A ∩ B| / sqrt(|A| · |B|)`:
symmetric, 1 for equal sets, and kinder than Jaccard to a short promise named inside a longer
dataset title, less lenient than the overlap coefficient (which would call any title sharing one
word with a one-word promise identical). `THRESHOLD` is justified by titles of the France
2018-2020 plan and of its data (asserted in `tests/delivery/test_proposing.py`):

=====================================================================  =====  =======
pair                                                                   score  similar
=====================================================================  =====  =======
données de valeurs foncières / Demandes de valeurs foncières (DVF)     0.71   yes
valeurs foncières / Demandes de valeurs foncières géolocalisées        0.71   yes
Données essentielles de la commande publique /                         0.77   yes
  Données essentielles de la commande publique - fichiers consolidés
Données essentielles de la commande publique /                         0.52   yes
  Données essentielles des marchés publics de la région Grand Est
Répertoire des représentants d'intérêts /                              0.77   yes
  Répertoire numérique des représentants d'intérêts (HATVP)
Base adresse nationale (BAN) / BAN                                     0.50   yes
Base adresse nationale / Répertoire national des associations          0.33   no
Impact de l'ouverture des données publiques (indicateurs) /            0.00   no
  Observatoire de la dématérialisation de qualité
=====================================================================  =====  =======

Two titles sharing one word of three each (0.33) are not similar; titles sharing two words of
three and five (0.52), or a promise named whole inside a title four times longer (0.50), are.
Among the 3,081 pairs of the plan's 79 commitment and milestone titles (sentences, harder than
data names), 10 reach 0.5, 8 of them about the same thing (the Open d'État forums, "Enrichir
le service public de la donnée" and its longer wording). A proposal is reviewed
by a person before anything changes, so the threshold leans towards proposing.
"""

from __future__ import annotations

import math
from functools import lru_cache

from udata_ogp.models import keywords_for

__all__ = ("STOP_WORDS", "THRESHOLD", "is_similar", "similar", "words")

THRESHOLD = 0.5

# Normalised (no accents, lower case), as `keywords_for` returns them; one-letter words (l', d',
# a) are already dropped there.
_FRENCH = """
    au aux avec ce ces cet cette chez dans de des du en entre et il ils la le les leur leurs
    lui ma mes mon ne ni nos notre nous on ou par pas pour qu que qui sa sans se selon ses son
    sous sur ta tes ton tous tout toute toutes un une vers vos votre vous est sont etre ete
    plus afin ainsi dont notamment autre autres
"""
_ENGLISH = """
    an and are as at be by for from in into is it its of on or per than that the their these
    this those to with about
"""
# Words any dataset's title may carry: they tell nothing of which data it is.
_GENERIC = "donnee donnees data dataset datasets jeu jeux"

STOP_WORDS = frozenset((_FRENCH + _ENGLISH + _GENERIC).split())


def _stem(word: str) -> str:
    """Plural and feminine endings folded: enough for titles, not a linguistic stemmer."""
    for ending in ("s", "x"):
        if len(word) > 3 and word.endswith(ending):
            word = word[: -len(ending)]
            break
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    if len(word) > 4 and word.endswith("qu"):  # publique = public, numérique = numéric
        word = word[:-2] + "c"
    elif len(word) > 4 and word[-1] == word[-2] and word[-1] in "lnt":  # essentielle = essentiel
        word = word[:-1]
    return word


@lru_cache(maxsize=65536)
def words(title: str | None) -> frozenset[str]:
    """The content words of a title, as compared (cached: a sweep compares titles many times)."""
    return frozenset(
        _stem(word) for word in keywords_for(title) if word not in STOP_WORDS and not word.isdigit()
    )


def similar(a: str | None, b: str | None) -> float:
    """How alike two titles are, from 0 (no content word in common) to 1 (same words)."""
    left, right = words(a), words(b)
    if not left or not right:
        return 0.0
    return len(left & right) / math.sqrt(len(left) * len(right))


def is_similar(a: str | None, b: str | None, threshold: float = THRESHOLD) -> bool:
    return similar(a, b) >= threshold
