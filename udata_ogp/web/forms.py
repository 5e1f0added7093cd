"""The page forms of producers and editors: link, unlink, status change (CSRF by udata).

Each form runs one `udata_ogp.actions` write, whose rules decide. Done, the visitor is sent back
to the page the form came from; a rule broken, that page is shown again (400, 409 for a conflict)
with the error next to the field at fault and the values typed kept; not allowed, a 403 page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from flask import (
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from udata.i18n import gettext as _

from udata_ogp.actions import change_status, create_link, delete_link
from udata_ogp.errors import Conflict, Forbidden, InvalidInput, OgpError
from udata_ogp.models import Commitment
from udata_ogp.permissions import (
    can_read_commitment,
)
from udata_ogp.web import pages
from udata_ogp.web.blueprint import (
    FormErrors,
    back_to,
    blueprint,
    commitment_or_404,
    dataset_or_404,
    link_or_404,
    show_as_page,
    user_or_none,
)

# The fields of each form (their ids are `<form>-<field>`), and the rules' names for them.
LINK_FIELDS = ("target", "role", "milestone", "note")
LINK_ALIASES = {"element": "target", "title": "target", "note_en": "note"}
DATASET_LINK_FIELDS = ("commitment", "role", "note")
STATUS_FIELDS = ("status", "rationale", "evidence_url")


def form_outcome(
    action: Callable[[], object],
    done: str,
    back: str,
    *,
    form: str,
    fields: tuple[str, ...],
    page: Callable[[], str],
    page_path: str,
    aliases: dict[str, str] | None = None,
):
    """Run a form's action through the shared rules; back to its page, or that page again."""
    show_as_page(page_path)
    try:
        action()
    except Forbidden as error:
        return render_template("ogp/error.html", code=403, message=error.message), 403
    except OgpError as error:
        g.ogp_form = FormErrors.of(
            error,
            form=form,
            values=request.form,
            fields=fields,
            aliases=aliases,
        )
        status = 409 if isinstance(error, Conflict) else 400
        html = page()
        if not g.ogp_form.shown:
            # The page offers this visitor no such form: the error said on a page of its own.
            message = " ".join(message for _id, _label, message in g.ogp_form.summary())
            return render_template("ogp/error.html", code=status, message=message), status
        return html, status
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
    page_path = url_for("ogp.commitment", slug=commitment.slug)
    target = request.form.get("target", "")

    def link() -> None:
        if not target:
            raise InvalidInput(_("Choose a dataset or reuse."), field="target")
        target_class, _sep, target_id = target.partition(":")
        create_link(
            commitment,
            target_class=target_class or None,
            target_id=target_id or None,
            milestone=request.form.get("milestone") or None,
            **_link_form_fields(),
        )

    return form_outcome(
        link,
        _("The link was added."),
        back_to(page_path),
        form="link",
        fields=LINK_FIELDS,
        aliases=LINK_ALIASES,
        page=lambda: pages.commitment(slug),
        page_path=page_path,
    )


@blueprint.route("/links/<link_id>/delete", methods=["POST"])
def link_delete(link_id: str):
    link = link_or_404(link_id)
    slug = link.commitment.slug
    page_path = url_for("ogp.commitment", slug=slug)
    return form_outcome(
        lambda: delete_link(link),
        _("The link was removed."),
        back_to(page_path),
        form="unlink",
        fields=(),
        page=lambda: pages.commitment(slug),
        page_path=page_path,
    )


@blueprint.route("/commitments/<slug>/status", methods=["POST"])
def commitment_status(slug: str):
    commitment = commitment_or_404(slug)
    page_path = url_for("ogp.commitment", slug=commitment.slug)
    return form_outcome(
        lambda: change_status(
            commitment,
            status=request.form.get("status") or None,
            rationale=request.form.get("rationale") or "",
            evidence_url=(request.form.get("evidence_url") or "").strip() or None,
            by=user_or_none(),
        ),
        _("The status change was recorded."),
        page_path,
        form="status",
        fields=STATUS_FIELDS,
        page=lambda: pages.commitment(slug),
        page_path=page_path,
    )


def _chosen_commitment() -> Commitment:
    commitment = None
    try:
        commitment = Commitment.objects(id=ObjectId(request.form.get("commitment", ""))).first()
    except (InvalidId, TypeError):
        pass
    if commitment is None or not can_read_commitment(commitment):
        raise InvalidInput(_("Choose a commitment."), field="commitment")
    return commitment


@blueprint.route("/datasets/<ident>/links", methods=["POST"])
def dataset_link(ident: str):
    dataset = dataset_or_404(ident)
    page_path = url_for("ogp.dataset", ident=str(dataset.id))
    return form_outcome(
        lambda: create_link(
            _chosen_commitment(),
            target_class="Dataset",
            target_id=dataset.id,
            **_link_form_fields(),
        ),
        _("The link was added."),
        page_path,
        form="link",
        fields=DATASET_LINK_FIELDS,
        aliases=LINK_ALIASES,
        page=lambda: pages.dataset(ident),
        page_path=page_path,
    )
