"""An SVG badge a dataset page can embed: how many OGP commitments the dataset serves."""

from __future__ import annotations

from flask import Response
from markupsafe import escape
from udata.auth import current_user
from udata.i18n import gettext as _
from udata.i18n import ngettext

from udata_ogp.loading import ref_id
from udata_ogp.models import CommitmentLink
from udata_ogp.visibility import visible_commitments
from udata_ogp.web.blueprint import blueprint, dataset_or_404

# Width of a character of 11px Verdana, roughly: badges are sized without a font engine.
CHAR_WIDTH = 7


def served_commitments(dataset) -> int:
    """The commitments the dataset serves that the visitor may read (what the API lists)."""
    ids = {ref_id(raw.get("commitment")) for raw in _links(dataset)}
    if not ids:
        return 0
    return visible_commitments().filter(id__in=list(ids)).count()


def _links(dataset):
    return CommitmentLink.objects.for_target("Dataset", dataset.id).only("commitment").as_pymongo()


def badge_description(count: int) -> str:
    """What the badge counts, in words: its SVG title and the alt text of the code to embed it."""
    return ngettext(
        "This dataset serves %(num)d commitment of the published open government action plans",
        "This dataset serves %(num)d commitments of the published open government action plans",
        count,
    )


def badge_svg(left: str, right: str, colour: str, text: str) -> str:
    lw, rw = 10 + CHAR_WIDTH * len(left), 10 + CHAR_WIDTH * len(right)
    width = lw + rw
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" '
        f'aria-label="{escape(text)}"><title>{escape(text)}</title>'
        f'<rect width="{lw}" height="20" fill="#3a3a3a"/>'
        f'<rect x="{lw}" width="{rw}" height="20" fill="{colour}"/>'
        '<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="5" y="14">{escape(left)}</text>'
        f'<text x="{lw + 5}" y="14">{escape(right)}</text></g></svg>'
    )


@blueprint.route("/datasets/<ident>/badge.svg")
def dataset_badge(ident: str):
    dataset = dataset_or_404(ident)
    count = served_commitments(dataset)
    right = ngettext("%(num)d commitment", "%(num)d commitments", count)
    svg = badge_svg(_("OGP"), right, "#000091" if count else "#666666", badge_description(count))
    response = Response(svg, mimetype="image/svg+xml")
    # A signed-in visitor may count drafts they edit: no shared cache may keep that answer.
    scope = "private" if current_user.is_authenticated else "public"
    response.headers["Cache-Control"] = f"{scope}, max-age=300"
    return response
