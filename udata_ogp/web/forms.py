"""The page forms of producers and editors: link, unlink, status change (CSRF by udata).

Each form runs one `udata_ogp.actions` write, whose rules decide; the outcome is flashed and the
visitor sent back to the page the form came from.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from flask import (
    flash,
    redirect,
    request,
    url_for,
)
from udata.i18n import gettext as _

from udata_ogp.actions import change_status, create_link, delete_link
from udata_ogp.errors import OgpError
from udata_ogp.models import Commitment
from udata_ogp.permissions import (
    can_read_commitment,
)
from udata_ogp.web.blueprint import (
    back_to,
    blueprint,
    commitment_or_404,
    dataset_or_404,
    link_or_404,
    user_or_none,
)


def _form_outcome(action: Callable[[], object], done: str, back: str):
    """Run a form's action through the shared rules; come back with its outcome flashed."""
    try:
        action()
    except OgpError as error:
        flash(error.message, "error")
    else:
        flash(done, "success")
    return redirect(back, 303)


def _link_form_fields() -> dict[str, Any]:
    """Role and note of the link forms (the `link_role_and_note` macro)."""
    return {
        "role": request.form.get("role") or "fulfils",
        "note": (request.form.get("note") or "").strip() or None,
        "by": user_or_none(),
    }


@blueprint.route("/commitments/<slug>/links", methods=["POST"])
def commitment_link(slug: str):
    commitment = commitment_or_404(slug)
    back = back_to(url_for("ogp.commitment", slug=commitment.slug))
    target_class, _sep, target_id = request.form.get("target", "").partition(":")
    return _form_outcome(
        lambda: create_link(
            commitment,
            target_class=target_class or None,
            target_id=target_id or None,
            milestone=request.form.get("milestone") or None,
            **_link_form_fields(),
        ),
        _("The link was added."),
        back,
    )


@blueprint.route("/links/<link_id>/delete", methods=["POST"])
def link_delete(link_id: str):
    link = link_or_404(link_id)
    back = back_to(url_for("ogp.commitment", slug=link.commitment.slug))
    return _form_outcome(lambda: delete_link(link), _("The link was removed."), back)


@blueprint.route("/commitments/<slug>/status", methods=["POST"])
def commitment_status(slug: str):
    commitment = commitment_or_404(slug)
    return _form_outcome(
        lambda: change_status(
            commitment,
            status=request.form.get("status") or None,
            rationale=request.form.get("rationale") or "",
            evidence_url=(request.form.get("evidence_url") or "").strip() or None,
            by=user_or_none(),
        ),
        _("The status change was recorded."),
        url_for("ogp.commitment", slug=commitment.slug),
    )


@blueprint.route("/datasets/<ident>/links", methods=["POST"])
def dataset_link(ident: str):
    dataset = dataset_or_404(ident)
    back = url_for("ogp.dataset", ident=str(dataset.id))
    commitment = None
    try:
        commitment = Commitment.objects(id=ObjectId(request.form.get("commitment", ""))).first()
    except (InvalidId, TypeError):
        pass
    if commitment is None or not can_read_commitment(commitment):
        flash(_("Choose a commitment."), "error")
        return redirect(back, 303)
    return _form_outcome(
        lambda: create_link(
            commitment, target_class="Dataset", target_id=dataset.id, **_link_form_fields()
        ),
        _("The link was added."),
        back,
    )
