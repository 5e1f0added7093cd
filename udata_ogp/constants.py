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

# Languages of the pages, and the cookie that remembers a visitor's choice.
LANGS = ("fr", "en")
LANG_COOKIE = "ogp_lang"
