"""The review queue: datasets the sweep proposes to a commitment's editors, who accept or
reject them. Only the editors see the queue (it names objects they decide about)."""

from __future__ import annotations

from udata.api import API, api, fields
from udata.auth import current_user

from udata_ogp.api.base import commitment_doc, get_commitment, json_object, ns, paginate
from udata_ogp.api.parsers import _paginated
from udata_ogp.constants import PROPOSAL_KINDS, PROPOSAL_STATES, TARGET_CLASSES
from udata_ogp.delivery import actions
from udata_ogp.errors import Forbidden, NotFound, invalid_field
from udata_ogp.loading import ref_id
from udata_ogp.models import Proposal
from udata_ogp.permissions import can_decide_proposal, can_edit_commitment


def _ref(name: str):
    return lambda p: str(ref_id(p._data.get(name))) if p._data.get(name) is not None else None


proposal_fields = api.model(
    "OgpProposal",
    {
        "id": fields.String(readonly=True),
        "commitment": fields.String(attribute=_ref("commitment")),
        "kind": fields.String(enum=list(PROPOSAL_KINDS)),
        "deliverable": fields.String(
            attribute=_ref("deliverable"), description="The deliverable it would deliver"
        ),
        "link": fields.String(attribute=_ref("link"), description="The expected data it would be"),
        "element": fields.Nested(
            api.model(
                "OgpProposalElement",
                {"class": fields.String(enum=list(TARGET_CLASSES)), "id": fields.String()},
            ),
            attribute=lambda p: {"class": p.target_class, "id": str(p.target_id)},
        ),
        "title": fields.String(attribute=lambda p: p.snapshot.title if p.snapshot else None),
        "organization": fields.String(
            attribute=lambda p: p.snapshot.organization if p.snapshot else None
        ),
        "reasons": fields.List(
            fields.String, description="similar_title, rule_failed:<rule> (rules it fails)"
        ),
        "state": fields.String(enum=list(PROPOSAL_STATES)),
        "decided_at": fields.ISODateTime(),
        "reason": fields.String(description="Why it was accepted or rejected"),
        "created_at": fields.ISODateTime(),
    },
)
proposal_page_fields = api.model("OgpProposalPage", fields.pager(proposal_fields))
decision_fields = api.model(
    "OgpProposalDecision", {"reason": fields.String(description="Why (optional)")}
)

proposals_parser = _paginated()
proposals_parser.add_argument("state", type=str, location="args", choices=list(PROPOSAL_STATES))


def _editor_only(allowed: bool) -> None:
    if not current_user.is_authenticated:
        api.abort(401, "Sign in: the review queue is for the commitment's editors.")
    if not allowed:
        raise Forbidden("Only the commitment's editors and administrators see its review queue.")


def _reason() -> str | None:
    data = json_object()
    for key in data:
        if key != "reason":
            raise invalid_field(key, "unknown field")
    return data.get("reason")


def get_proposal(ident: str) -> Proposal:
    from bson import ObjectId

    proposal = Proposal.objects(id=ident).first() if ObjectId.is_valid(ident) else None
    if proposal is None:
        raise NotFound(f"No proposal {ident!r}.", field="proposal")
    _editor_only(can_decide_proposal(proposal))
    return proposal


@ns.route(
    "/commitments/<string:commitment>/proposals/",
    endpoint="ogp_commitment_proposals",
    doc=commitment_doc,
)
@api.response(401, "Not signed in")
@api.response(403, "Not an editor of the commitment")
@api.response(404, "Commitment not found")
class CommitmentProposalsAPI(API):
    @api.doc("ogp_list_commitment_proposals")
    @api.expect(proposals_parser)
    @api.marshal_with(proposal_page_fields)
    def get(self, commitment: str):
        """The review queue of a commitment, newest first (its editors)"""
        args = proposals_parser.parse_args()
        obj = get_commitment(commitment)
        _editor_only(can_edit_commitment(obj))
        proposals = Proposal.objects(commitment=obj)
        if args.get("state"):
            proposals = proposals(state=args["state"])
        return paginate(proposals, args)


proposal_doc = {"params": {"proposal": "Proposal id"}}


@ns.route("/proposals/<string:proposal>/accept/", endpoint="ogp_accept_proposal", doc=proposal_doc)
@api.response(404, "Proposal not found")
class AcceptProposalAPI(API):
    @api.secure
    @api.doc("ogp_accept_proposal")
    @api.expect(decision_fields)
    @api.marshal_with(proposal_fields)
    @api.response(403, "Forbidden")
    @api.response(409, "Already decided, or the commitment already links the dataset")
    @api.response(410, "The dataset is deleted")
    def post(self, proposal: str):
        """Accept: the dataset becomes the deliverable's target, or the expected data's"""
        obj = get_proposal(proposal)
        reason = _reason()
        return actions.accept_proposal(obj, reason, by=current_user._get_current_object())


@ns.route("/proposals/<string:proposal>/reject/", endpoint="ogp_reject_proposal", doc=proposal_doc)
@api.response(404, "Proposal not found")
class RejectProposalAPI(API):
    @api.secure
    @api.doc("ogp_reject_proposal")
    @api.expect(decision_fields)
    @api.marshal_with(proposal_fields)
    @api.response(403, "Forbidden")
    @api.response(409, "Already decided")
    def post(self, proposal: str):
        """Reject: the dataset is never proposed again for it"""
        obj = get_proposal(proposal)
        reason = _reason()
        return actions.reject_proposal(obj, reason, by=current_user._get_current_object())
