"""What a reader sees: the ONE rule shared by pages, API, feed, exports and badge.

A reader sees exactly what the API shows them:

- plans: published ones, and those they edit;
- commitments: published ones of published plans, and those they edit (`can_edit_commitment`);
- links of those commitments, but a link whose target (dataset, reuse, dataservice) udata would
  answer 404 for is *hidden*: the reader learns only that a non-public object of that class serves
  the commitment, with the link's role, note and health. The target's producers (udata's own rule
  for reading a private object), the commitment's editors and administrators see everything.

Hidden means: the target is private or deleted now, or it was hard-deleted and was not public
when the sweep (or the link's creation) last saw it (`LinkSnapshot.public`).

Everything here is computed from the reader's identity (udata's needs: roles in organisations,
no query) and from batch reads, so that a list costs a constant number of database commands.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bson import ObjectId
from flask import g, has_request_context, request
from mongoengine import Q
from udata.auth import admin_permission, current_user
from udata.core.organization.permissions import AssignmentNeed, OrganizationNeed

from udata_ogp.loading import ref_id
from udata_ogp.models import ActionPlan, Commitment, CommitmentLink
from udata_ogp.permissions import can_edit_plan
from udata_ogp.targets import STATE_FIELDS, is_public, state_of, target_model

__all__ = (
    "hidden_links",
    "hidden_targets",
    "link_hidden",
    "plan_commitments",
    "reverse_lookup_query",
    "target_hidden",
    "visible_commitments",
    "visible_commitments_query",
    "visible_plans",
    "visible_plans_query",
)

# Organisation roles that edit the organisation's objects (udata's `OwnablePermission`) and
# those that read its private ones (udata's `OwnableReadPermission`).
EDIT_ROLES = frozenset({"admin", "editor"})
PRIVATE_READ_ROLES = frozenset({"admin", "editor", "partial_editor"})


# ---------------------------------------------------------------------------------------------
# The reader
# ---------------------------------------------------------------------------------------------


def _is_admin() -> bool:
    return bool(admin_permission.can())


def _needs() -> set:
    identity = getattr(g, "identity", None) if has_request_context() else None
    return set(identity.provides) if identity is not None else set()


def _org_ids(roles: frozenset) -> list[ObjectId]:
    """Organisations in which the reader has one of `roles`, from udata's identity (no query)."""
    return sorted(
        {
            need.value
            for need in _needs()
            if isinstance(need, OrganizationNeed) and need.role in roles
        }
    )


def _assigned(class_name: str) -> list[ObjectId]:
    """Objects of `class_name` assigned to the reader as an organisation's partial editor."""
    return [
        need.object_id
        for need in _needs()
        if isinstance(need, AssignmentNeed) and need.object_class == class_name
    ]


def _user_id() -> ObjectId | None:
    return current_user.id if current_user.is_authenticated else None


def _edit_query(class_name: str) -> Q | None:
    """The plans or commitments the reader edits, as `OwnablePermission` decides (None: none)."""
    user_id = _user_id()
    if user_id is None:
        return None
    query = Q(owner=user_id)
    orgs = _org_ids(EDIT_ROLES)
    if orgs:
        query |= Q(organization__in=orgs)
    assigned = _assigned(class_name)
    if assigned:
        query |= Q(id__in=assigned)
    return query


def _request_cache() -> dict | None:
    """Answers kept for this request only (not `g`: an app context may outlive requests)."""
    if not has_request_context():
        return None
    return request.environ.setdefault("udata_ogp.visibility", {})


def _cached(key: str, compute):
    """Once per request: a page and its lists ask the same question several times."""
    cache = _request_cache()
    if cache is None:
        return compute()
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def _edited_plan_ids() -> list[ObjectId]:
    query = _edit_query("ActionPlan")
    if query is None:
        return []
    return _cached("edited_plans", lambda: list(ActionPlan.objects(query).distinct("id")))


def _edited_commitments_query() -> Q | None:
    """Commitments the reader edits: their own, or in a plan they edit (`can_edit_commitment`)."""
    query = _edit_query("Commitment")
    if query is None:
        return None
    plans = _edited_plan_ids()
    return query | Q(plan__in=plans) if plans else query


def _edited_commitment_ids(ids: Iterable[ObjectId]) -> set[ObjectId]:
    """Which of these commitments the reader edits: one query (none for anonymous readers)."""
    ids = list(set(ids))
    query = _edited_commitments_query()
    if not ids or query is None:
        return set()
    return set(Commitment.objects(query, id__in=ids).distinct("id"))


# ---------------------------------------------------------------------------------------------
# Plans and commitments
# ---------------------------------------------------------------------------------------------


def visible_plans_query() -> Q | None:
    """The plans the reader may read, as a query (None: every plan)."""
    if _is_admin():
        return None
    query = _edit_query("ActionPlan")
    return Q(published=True) | query if query is not None else Q(published=True)


def visible_plans():
    query = visible_plans_query()
    return ActionPlan.objects(query) if query is not None else ActionPlan.objects


def visible_commitments_query() -> Q | None:
    """The commitments the reader may read, as a query (None: every commitment)."""
    if _is_admin():
        return None
    published_plans = _cached(
        "published_plans", lambda: list(ActionPlan.objects(published=True).distinct("id"))
    )
    query = Q(published=True, plan__in=published_plans)
    edited = _edited_commitments_query()
    return query | edited if edited is not None else query


def visible_commitments():
    query = visible_commitments_query()
    return Commitment.objects(query) if query is not None else Commitment.objects


def plan_commitments(plan: ActionPlan):
    """The commitments of one plan the reader may read, by number: one query.

    The plan's editors read them all; others the published ones of a published plan and those
    they edit themselves.
    """
    commitments = Commitment.objects(plan=plan).order_by("number")
    if can_edit_plan(plan):
        return commitments
    query = Q(published=True) if plan.published else None
    edited = _edit_query("Commitment")
    if edited is not None:
        query = query | edited if query is not None else edited
    return commitments(query) if query is not None else commitments.none()


# ---------------------------------------------------------------------------------------------
# Hidden targets
# ---------------------------------------------------------------------------------------------


def _reads_private_of(producer_id: Any) -> bool:
    """Whether the reader reads the hidden objects of this organisation or user (udata's rule)."""
    if producer_id is None:
        return False
    producer_id = ObjectId(str(producer_id))
    if producer_id == _user_id():
        return True
    return producer_id in _org_ids(PRIVATE_READ_ROLES)


def _target_facts(links: list) -> dict[tuple[str, ObjectId], dict]:
    """`{(class, id): {"state", "producer_id"}}` of live targets: one query per class.

    `links`: anything with `target_class` and `target_id` (links, deliverables' matches, proof
    items, proposals)."""
    wanted: dict[str, set[ObjectId]] = {}
    for link in links:
        if link.target_id is not None:
            wanted.setdefault(link.target_class, set()).add(link.target_id)
    facts: dict[tuple[str, ObjectId], dict] = {}
    for class_name, ids in wanted.items():
        model = target_model(class_name)
        fields = ["id", "organization", "owner", *STATE_FIELDS[class_name].values()]
        fields = [name for name in fields if name == "id" or name in model._fields]
        for raw in model.objects(id__in=list(ids)).only(*fields).as_pymongo():
            facts[(class_name, raw["_id"])] = {
                "state": state_of(class_name, raw),
                "producer_id": ref_id(raw.get("organization")) or ref_id(raw.get("owner")),
            }
    return facts


def _hidden_from(link, fact: Mapping[str, Any] | None) -> bool:
    snapshot = link.snapshot
    if fact is None:  # hard-deleted: the snapshot is shown only if it was public
        if snapshot is not None and snapshot.public:
            return False
        return not _reads_private_of(snapshot.organization_id if snapshot else None)
    if is_public(fact["state"]):
        return False
    return not _reads_private_of(fact["producer_id"])


def hidden_links(
    links: Iterable[CommitmentLink],
    targets: Mapping[tuple[str, ObjectId], Any] | None = None,
    edited: Iterable[ObjectId] | None = None,
) -> set[ObjectId]:
    """Ids of the links whose target this reader may not see; a constant number of queries.

    `targets`: what `loading.load_targets` already read for these links (TargetInfo values),
    to save the read of the targets; `edited`: the ids of the commitments the reader edits among
    these links' commitments, when the caller knows them. Remembered for the request, so that
    `link_hidden` answers for the same links with no query.
    """
    links = [link for link in links if link.target_id is not None]
    if _is_admin() or not links:
        return set()
    commitment_of = {link.id: ref_id(link.commitment) for link in links}
    if edited is None:
        edited = _edited_commitment_ids(commitment_of.values())
    edited = set(edited)
    candidates = [link for link in links if commitment_of[link.id] not in edited]
    if targets is not None:
        facts = {
            key: {"state": info.state, "producer_id": info.producer_id}
            for key, info in targets.items()
            if info.exists
        }
    else:
        facts = _target_facts(candidates) if candidates else {}
    hidden = {
        link.id
        for link in candidates
        if _hidden_from(link, facts.get((link.target_class, link.target_id)))
    }
    cache = _request_cache()
    if cache is not None:
        known = cache.setdefault("hidden_links", {})
        for link in links:
            known[link.id] = link.id in hidden
    return hidden


def hidden_targets(
    items_by_commitment: Mapping[Any, Iterable[Any]],
) -> set[tuple[ObjectId, str, ObjectId]]:
    """`(commitment id, class, id)` of the objects this reader may not see, by the links' rule.

    For what a commitment shows besides its links: its deliverables' matches and proof items,
    and the objects proposed in its review queue (anything with `target_class`, `target_id`
    and an optional `snapshot`). The commitment's editors see everything; others see a target
    as they would see it through a link. A constant number of queries (one for the edited
    commitments, one per class of target), remembered for the request (`target_hidden`).
    """
    groups = {
        ObjectId(str(cid)): [item for item in items if item.target_id is not None]
        for cid, items in items_by_commitment.items()
    }
    groups = {cid: items for cid, items in groups.items() if items}
    if _is_admin() or not groups:
        return set()
    edited = _edited_commitment_ids(groups)
    candidates = [
        (cid, item) for cid, items in groups.items() if cid not in edited for item in items
    ]
    facts = _target_facts([item for _, item in candidates]) if candidates else {}
    hidden = {
        (cid, item.target_class, item.target_id)
        for cid, item in candidates
        if _hidden_from(item, facts.get((item.target_class, item.target_id)))
    }
    cache = _request_cache()
    if cache is not None:
        known = cache.setdefault("hidden_targets", {})
        for cid, items in groups.items():
            for item in items:
                key = (cid, item.target_class, item.target_id)
                known[key] = key in hidden
    return hidden


def target_hidden(commitment_id: Any, item: Any) -> bool:
    """Whether this reader may not see one match, proof item or proposal (see `hidden_targets`)."""
    if item.target_id is None:
        return False
    key = (ObjectId(str(commitment_id)), item.target_class, item.target_id)
    cache = _request_cache()
    known = cache.get("hidden_targets", {}) if cache is not None else {}
    if key not in known:
        return key in hidden_targets({commitment_id: [item]})
    return known[key]


class DeliverableTarget:
    """A deliverable's own target, shaped as `hidden_targets` reads its items: with what its
    matches or proofs last saw of it, so that it is hidden exactly when they are."""

    def __init__(self, deliverable: Any) -> None:
        self.target_class, self.target_id = deliverable.target_class, deliverable.target_id
        seen = [
            item.snapshot
            for item in seen_items(deliverable)
            if item.target_id == self.target_id and item.snapshot is not None
        ]
        self.snapshot = seen[0] if seen else None


def seen_items(deliverable: Any) -> list:
    """The objects the sweep saw for a deliverable: its matches and every proof's items."""
    items = list(deliverable.matches or [])
    for proof in [deliverable.proof, *(e.proof for e in deliverable.history or [])]:
        if proof is not None:
            items.extend(proof.items or [])
    return items


def deliverable_items(deliverable: Any) -> list:
    """Everything of a deliverable the visibility rule decides on: seen objects and its target."""
    items = seen_items(deliverable)
    if deliverable.target_id is not None:
        items.append(DeliverableTarget(deliverable))
    return items


def link_hidden(link: CommitmentLink) -> bool:
    """Whether this reader may not see the link's target (one link: see `hidden_links`)."""
    if link.target_id is None:
        return False
    cache = _request_cache()
    known = cache.get("hidden_links", {}) if cache is not None else {}
    if link.id not in known:
        return link.id in hidden_links([link])
    return known[link.id]


def reverse_lookup_query(target_class: str, target_id: Any) -> Q | None:
    """Which links to one target the reader may see (None: all of them); at most three queries.

    A hidden link is omitted from the reverse look-up: listing it would tell that this very
    private dataset serves the commitment.
    """
    if _is_admin():
        return None
    oid = ObjectId(str(target_id))
    probe = CommitmentLink(target_class=target_class, target_id=oid)
    facts = _target_facts([probe])
    fact = facts.get((target_class, oid))
    edited = _edited_commitments_query()
    allowed = Q(commitment__in=Commitment.objects(edited).distinct("id")) if edited else None
    if fact is not None:
        if is_public(fact["state"]) or _reads_private_of(fact["producer_id"]):
            return None
        return allowed if allowed is not None else Q(id__in=[])
    # Hard-deleted: each link's snapshot remembers whether it was public and whose it was.
    readers = [_user_id(), *_org_ids(PRIVATE_READ_ROLES)] if _user_id() else []
    query = Q(snapshot__public=True)
    if readers:
        query |= Q(snapshot__organization_id__in=[str(oid) for oid in readers])
    return query | allowed if allowed is not None else query
