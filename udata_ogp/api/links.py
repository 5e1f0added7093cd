"""Links from commitments to portal objects: per commitment, reverse look-up, one link."""

from __future__ import annotations

import copy

from bson import ObjectId
from udata.api import API, api, fields
from udata.auth import current_user

from udata_ogp import actions
from udata_ogp.api.base import (
    check_keys,
    commitment_doc,
    get_commitment,
    get_link,
    get_plan,
    invalid,
    json_object,
    ns,
    paginate,
)
from udata_ogp.api.parsers import (
    commitment_links_parser,
    link_parser,
)
from udata_ogp.constants import TARGET_CLASSES
from udata_ogp.errors import InvalidInput
from udata_ogp.health.rules import reason_code
from udata_ogp.models import Commitment, CommitmentLink
from udata_ogp.visibility import (
    hidden_links,
    link_hidden,
    reverse_lookup_query,
    visible_commitments_query,
)

# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------

element_fields = api.model(
    "OgpLinkElement",
    {
        "class": fields.String(enum=list(TARGET_CLASSES), required=True),
        "id": fields.String(required=True, description="Dataset, reuse or dataservice id"),
    },
)


def _element(link: CommitmentLink) -> dict | None:
    if link.target_id is None:
        return None
    # A hidden target keeps its class ("a dataset that is not public") but not its id.
    return {"class": link.target_class, "id": None if link_hidden(link) else str(link.target_id)}


def _unless_hidden(name: str):
    """The generated field `name`, null for a reader who may not see the link's target."""
    hidden_aware = copy.copy(CommitmentLink.__read_fields__[name])
    hidden_aware.attribute = lambda link: None if link_hidden(link) else getattr(link, name)
    if isinstance(hidden_aware, fields.Nested):
        hidden_aware.allow_null = True
    return hidden_aware


def _codes(reasons) -> list[str]:
    """Reason codes without their details (resource ids, statuses) of a hidden target."""
    return [reason_code(reason) for reason in reasons or []]


def _reasons(link: CommitmentLink) -> list[str]:
    return _codes(link.reasons) if link_hidden(link) else list(link.reasons or [])


def _health_history(link: CommitmentLink) -> list:
    if not link_hidden(link):
        return link.health_history
    return [
        {**event.to_mongo().to_dict(), "reasons": _codes(event.reasons)}
        for event in link.health_history or []
    ]


_history_field = copy.copy(CommitmentLink.__read_fields__["health_history"])
_history_field.attribute = _health_history

link_fields = api.clone(
    "OgpCommitmentLink",
    CommitmentLink.__read_fields__,
    {
        "element": fields.Nested(
            element_fields,
            attribute=_element,
            allow_null=True,
            description="The linked object, like a topic element; null for expected data "
            "(its id is null when `hidden`)",
        ),
        "expected": fields.Boolean(
            attribute=lambda o: o.target_id is None, description="Data expected, not published"
        ),
        "hidden": fields.Boolean(
            attribute=link_hidden,
            description="The linked object is not public (any more) and you may not see it: "
            "its id, snapshot and who linked it are left out",
        ),
        **{name: _unless_hidden(name) for name in ("target_id", "snapshot", "linked_by")},
        "reasons": fields.List(fields.String, attribute=_reasons),
        "health_history": _history_field,
    },
)
link_page_fields = api.model("OgpCommitmentLinkPage", fields.pager(link_fields))

link_create_fields = api.model(
    "OgpCommitmentLinkCreate",
    {
        "element": fields.Nested(
            element_fields, allow_null=True, description="Omit it for expected data (give a title)"
        ),
        "role": fields.String(enum=list(actions.LINK_ROLES), default="fulfils"),
        "note": fields.String(description="Why it is linked (French)"),
        "note_en": fields.String(),
        "milestone": fields.String(description="Number of the milestone served, e.g. 5.1"),
        "title": fields.String(description="Title of data expected but not yet published"),
    },
)
LINK_CREATE_KEYS = frozenset(link_create_fields)
LINK_UPDATE_KEYS = frozenset(CommitmentLink.__write_fields__)


# ---------------------------------------------------------------------------------------------
# Links
# ---------------------------------------------------------------------------------------------

link_doc = {"params": {"link": "Link id"}}


def paginate_links(queryset, args: dict):
    """A page of links, with the hidden decision made for the whole page in one batch."""
    page = paginate(queryset, args)
    hidden_links(page.objects)
    return page


def _filter_links(queryset, args: dict):
    if args.get("role"):
        queryset = queryset(role=args["role"])
    if args.get("health"):
        queryset = queryset(health=args["health"])
    return queryset


@ns.route(
    "/commitments/<string:commitment>/links/", endpoint="ogp_commitment_links", doc=commitment_doc
)
@api.response(404, "Commitment not found")
class CommitmentLinksAPI(API):
    @api.doc("ogp_list_commitment_links")
    @api.expect(commitment_links_parser)
    @api.marshal_with(link_page_fields)
    def get(self, commitment: str):
        """The datasets, reuses and dataservices (and expected data) serving a commitment"""
        args = commitment_links_parser.parse_args()
        obj = get_commitment(commitment)
        return paginate_links(_filter_links(CommitmentLink.objects(commitment=obj), args), args)

    @api.secure
    @api.doc("ogp_create_commitment_link")
    @api.expect(link_create_fields)
    @api.marshal_with(link_fields, code=201)
    @api.response(400, "Validation error")
    @api.response(403, "Forbidden")
    @api.response(409, "Already linked with that role")
    @api.response(410, "The element is deleted")
    def post(self, commitment: str):
        """Link a dataset, reuse or dataservice you edit (or expected data) to a commitment"""
        obj = get_commitment(commitment)
        data = json_object()
        check_keys(data, LINK_CREATE_KEYS)
        for key in LINK_CREATE_KEYS - {"element"}:
            if data.get(key) is not None and not isinstance(data[key], str):
                raise invalid(key, "expected a string")
        element = data.get("element")
        target_class = target_id = None
        if element is not None:
            if not isinstance(element, dict):
                raise invalid("element", "expected an object with `class` and `id`")
            check_keys(element, {"class", "id"}, "element.")
            target_class, target_id = element.get("class"), element.get("id")
            if not isinstance(target_class, str) or target_class not in TARGET_CLASSES:
                raise invalid("element.class", f"expected one of {', '.join(TARGET_CLASSES)}")
            if not isinstance(target_id, str) or not ObjectId.is_valid(target_id):
                raise invalid("element.id", "expected an id")
        link = actions.create_link(
            obj,
            target_class=target_class,
            target_id=target_id,
            role=data.get("role") or "fulfils",
            note=data.get("note"),
            note_en=data.get("note_en"),
            milestone=data.get("milestone"),
            title=data.get("title"),
            by=current_user._get_current_object(),
        )
        return link, 201


@ns.route("/links/", endpoint="ogp_links")
class LinksAPI(API):
    @api.doc("ogp_list_links")
    @api.expect(link_parser)
    @api.marshal_with(link_page_fields)
    def get(self):
        """Links of readable commitments, e.g. those a dataset serves (`?dataset=<id>`)"""
        args = link_parser.parse_args()
        links = CommitmentLink.objects
        targets = [name for name in ("dataset", "reuse", "dataservice") if args.get(name)]
        if len(targets) > 1:
            raise InvalidInput("Give one of dataset, reuse or dataservice.", field=targets[1])
        if targets:
            target_class = {"dataset": "Dataset", "reuse": "Reuse", "dataservice": "Dataservice"}[
                targets[0]
            ]
            links = CommitmentLink.objects.for_target(target_class, args[targets[0]])
            # Links this reader may not see are left out: listing them would tell that this
            # very private object serves the commitment.
            shown = reverse_lookup_query(target_class, args[targets[0]])
            if shown is not None:
                links = links(shown)
        if args.get("commitment"):
            links = links(commitment=get_commitment(args["commitment"]))
        if args.get("plan"):
            links = links.for_plan(get_plan(args["plan"]))
        links = _filter_links(links, args)
        query = visible_commitments_query()
        if query is not None:
            # Only the commitments these links point to are checked: one query, whatever
            # the number of links.
            # Ids, not documents: a dereferencing `distinct` would load every commitment.
            candidates = links.no_dereference().distinct("commitment")
            ids = [getattr(c, "id", c) for c in candidates]
            readable = Commitment.objects(query, id__in=ids).distinct("id")
            links = links(commitment__in=readable)
        return paginate_links(links, args)


@ns.route("/links/<string:link>/", endpoint="ogp_link", doc=link_doc)
@api.response(404, "Link not found")
class LinkAPI(API):
    @api.doc("ogp_get_link")
    @api.marshal_with(link_fields)
    def get(self, link: str):
        """Read a link"""
        return get_link(link)

    @api.secure
    @api.doc("ogp_update_link")
    @api.expect(CommitmentLink.__write_fields__)
    @api.marshal_with(link_fields)
    @api.response(400, "Validation error")
    @api.response(403, "Forbidden")
    def put(self, link: str):
        """Change role, note or milestone (the commitment's editors and the object's producers)"""
        obj = get_link(link)
        data = json_object()
        check_keys(data, LINK_UPDATE_KEYS)
        for key, value in data.items():
            if value is not None and not isinstance(value, str):
                raise invalid(key, "expected a string")
        if "role" in data and data["role"] is None:
            raise invalid("role", "required")
        return actions.update_link(obj, **data)

    @api.secure
    @api.doc("ogp_delete_link")
    @api.response(204, "Deleted")
    @api.response(403, "Forbidden")
    def delete(self, link: str):
        """Unlink (the commitment's editors and the linked object's producers)"""
        actions.delete_link(get_link(link))
        return "", 204
