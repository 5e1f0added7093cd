"""The OGP / IRM vocabulary and the plugin's own enumerations. No I/O, no udata import but i18n."""

from __future__ import annotations

from udata.i18n import lazy_gettext as _

# Completion on the IRM scale. `None` (absent) means unknown.
COMPLETION = {
    "not_started": _("Not started"),
    "limited": _("Limited"),
    "substantial": _("Substantial"),
    "complete": _("Complete"),
}
COMPLETION_ORDER = list(COMPLETION)

# The four OGP values.
OGP_VALUES = {
    "access_to_information": _("Access to information"),
    "civic_participation": _("Civic participation"),
    "public_accountability": _("Public accountability"),
    "technology_innovation": _("Technology and innovation for openness and accountability"),
}

# What a linked dataset, reuse or dataservice does for a commitment.
LINK_ROLES = {
    "fulfils": _("Fulfils the commitment"),
    "contributes": _("Contributes to it"),
    "evidence": _("Evidence of progress"),
    "related": _("Related"),
}

# Classes a link may point to; the same as udata's topic elements.
TARGET_CLASSES = ("Dataset", "Reuse", "Dataservice")

# How a link came to be.
LINK_SOURCES = {
    "manual": _("Linked by hand"),
    "tag": _("Linked by a tag on the dataset"),
    "import": _("Linked by an import"),
}

# Link health, worst last.
HEALTH = {
    "ok": _("OK"),
    "unknown": _("Not checked yet"),
    "stale": _("Stale"),
    "broken": _("Broken"),
    "gone": _("Gone"),
}
HEALTH_ORDER = ["ok", "unknown", "stale", "broken", "gone"]

# Status of an action plan in the OGP cycle.
PLAN_STATUS = {
    "development": _("In development"),
    "implementation": _("In implementation"),
    "completed": _("Completed"),
    "withdrawn": _("Withdrawn"),
}

# Languages content may be written in: French is required, English optional.
CONTENT_LANGS = ("fr", "en")

# OGP's own English words for the French terms its site and the IRM's reports use: policy areas
# and the IRM's answers (verifiable, ambition, potential impact, completion, early results). The
# content keeps the French term as published; English pages show OGP's term. Keys are folded by
# `_term_key`. A term missing here is shown in French, marked as such.
OGP_TERMS_EN = {
    # Policy areas
    "accès à l'information": "Access to Information",
    "formations": "Capacity Building",
    "gérance des données et confidentialité": "Data Stewardship and Privacy",
    "gouvernance numérique": "Digital Governance",
    "open data": "Open Data",
    "données ouvertes": "Open Data",
    "participation du public": "Public Participation",
    "lutte contre la corruption et intégrité": "Anti-Corruption and Integrity",
    "espace civique": "Civic Space",
    "transparence budgétaire": "Fiscal Openness",
    "marchés publics": "Public Procurement",
    "commande publique": "Public Procurement",
    "justice": "Justice",
    "santé": "Health",
    "éducation": "Education",
    "environnement et climat": "Environment and Climate",
    "genre et inclusion": "Gender and Inclusion",
    "lobbying": "Lobbying",
    "parlements ouverts": "Open Parliaments",
    "gouvernement local": "Local Commitments",
    "prestation de services publics": "Public Service Delivery",
    "bénéficiaires effectifs": "Beneficial Ownership",
    "déclaration de patrimoine": "Asset Disclosure",
    "lanceurs d'alerte": "Whistleblower Protections",
    # IRM answers
    "oui": "Yes",
    "non": "No",
    "aucun": "None",
    "aucune": "None",
    "faible": "Low",
    "modéré": "Moderate",
    "modérée": "Moderate",
    "élevé": "High",
    "élevée": "High",
    "mineur": "Minor",
    "transformateur": "Transformative",
    "non commencé": "Not started",
    "limité": "Limited",
    "substantiel": "Substantial",
    "complet": "Complete",
    "achevé": "Complete",
    "pas de données irm": "No IRM data",
    "n'a pas changé": "Did not change",
    "marginal": "Marginal",
    "majeur": "Major",
    "exceptionnel": "Outstanding",
    "s'est détérioré": "Worsened",
}


def _term_key(value: str) -> str:
    return " ".join(value.replace("\u2019", "'").casefold().split())


def ogp_term(value: str, lang: str) -> tuple[str, str]:
    """A policy area or IRM answer in the reader's language, and the language it is in."""
    if lang == "en":
        english = OGP_TERMS_EN.get(_term_key(value or ""))
        if english:
            return english, "en"
    return value, CONTENT_LANGS[0]


# Languages of the pages, and the cookie that remembers a visitor's choice.
LANGS = ("fr", "en")
LANG_COOKIE = "ogp_lang"

# State of a deliverable: what the portal's own data says of a promise (issue 12), best first.
DELIVERABLE_STATES = {
    "met": _("Delivered"),
    "pending": _("Not yet due"),
    "at_risk": _("At risk"),
    "breached": _("Not delivered"),
    "unknown": _("Not verified yet"),
}
DELIVERABLE_STATE_ORDER = list(DELIVERABLE_STATES)

# A deliverable's rules, in the order they are checked and reported (and files write them).
DELIVERABLE_RULES = (
    "organizations",
    "tags",
    "schema",
    "open_license",
    "formats",
    "min_resources",
    "frequency",
    "fresh",
)

# When a commitment's declared completion and its verified deliverables disagree.
DISCREPANCIES = {
    "claimed_not_verified": _("Declared done, not verified by the data"),
    "verified_beyond_claim": _("Verified by the data beyond what is declared"),
}

# How a commitment's deliverables add up, for `?verification=` filters: `none` (no
# deliverable), `unverified` (none met), `partial`, `verified` (all met), and `breached` (at
# least one breached, whatever the others).
VERIFICATION_SUMMARIES = {
    "none": _("No deliverable declared"),
    "unverified": _("No deliverable met"),
    "partial": _("Some deliverables met"),
    "verified": _("Every deliverable met"),
    "breached": _("A deliverable is not delivered"),
}

# The review queue: what is proposed to a commitment's editors. Kept general: visitors'
# suggestions and problem reports will be kinds of their own.
PROPOSAL_KINDS = {
    "deliverable_target": _("Data that may deliver a deliverable"),
    "expected_data": _("Data that may be the expected data"),
}
PROPOSAL_STATES = {
    "open": _("Waiting for review"),
    "accepted": _("Accepted"),
    "rejected": _("Rejected"),
}
