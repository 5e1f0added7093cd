"""The review queue page: a commitment's editors accept or reject the datasets the sweep
proposes (`udata_ogp.delivery.proposing`), through the same actions as the API."""

from __future__ import annotations

from flask import abort, render_template, request, url_for
from udata.i18n import gettext as _

from udata_ogp.constants import PROPOSAL_KINDS, PROPOSAL_STATES
from udata_ogp.delivery.actions import accept_proposal, reject_proposal
from udata_ogp.models import Proposal
from udata_ogp.permissions import can_edit_commitment
from udata_ogp.web.blueprint import blueprint, commitment_or_404, show_as_page, user_or_none
from udata_ogp.web.forms import form_outcome

DECISION_FIELDS = ("reason",)


def reason_text(code: str) -> str:
    """Why a dataset is proposed, in words."""
    if code == "similar_title":
        return _("its title is close to what was promised")
    if code.startswith("rule_failed:"):
        return _("it does not meet the rule “%(rule)s”", rule=code.partition(":")[2])
    return code


@blueprint.app_template_global("open_proposals")
def open_proposals(commitment) -> int:
    """How many proposals wait in a commitment's queue (one count; pages ask it for editors)."""
    return Proposal.objects(commitment=commitment, state="open").count()


@blueprint.route("/commitments/<slug>/proposals/")
def proposals(slug: str):
    commitment = commitment_or_404(slug)
    if not can_edit_commitment(commitment):
        abort(403)
    # The deliverables and expected links named are read in one batch, not one by one.
    items = list(
        Proposal.objects(commitment=commitment).order_by("-created_at").select_related(max_depth=1)
    )
    return render_template(
        "ogp/proposals.html",
        c=commitment,
        plan=commitment.plan,
        waiting=[p for p in items if p.state == "open"],
        decided=[p for p in items if p.state != "open"],
        reason_text=reason_text,
        PROPOSAL_KINDS=PROPOSAL_KINDS,
        PROPOSAL_STATES=PROPOSAL_STATES,
    )


def _proposal_or_404(proposal_id: str) -> Proposal:
    from bson import ObjectId

    proposal = Proposal.objects(id=proposal_id).first() if ObjectId.is_valid(proposal_id) else None
    if proposal is None:
        abort(404)
    commitment_or_404(proposal.commitment.slug)
    return proposal


@blueprint.route("/proposals/<proposal_id>/<any(accept, reject):decision>", methods=["POST"])
def decide_proposal(proposal_id: str, decision: str):
    proposal = _proposal_or_404(proposal_id)
    slug = proposal.commitment.slug
    page_path = url_for("ogp.proposals", slug=slug)
    action = accept_proposal if decision == "accept" else reject_proposal
    done = (
        _("The proposal was accepted.")
        if decision == "accept"
        else _("The proposal was rejected: it will not be made again.")
    )
    show_as_page(page_path)
    return form_outcome(
        lambda: action(proposal, request.form.get("reason") or None, by=user_or_none()),
        done,
        page_path,
        form=f"decide-{proposal.id}",
        fields=DECISION_FIELDS,
        page=lambda: proposals(slug),
        page_path=page_path,
    )
