"""Writes of deliverables, with the plugin's rules: who may, what is valid, what follows.

The API (and later the pages and the importer) go through here. A deliverable is part of its
commitment: its editors declare, change and remove it (`permissions.can_edit_deliverable`). After
a write the deliverable is evaluated at once (a scoped delivery sweep: a constant number of
commands), so that the page tells at once whether the portal's data delivers it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from mongoengine.errors import NotUniqueError
from udata.core.dataset.constants import UpdateFrequency
from udata.i18n import gettext as _
from udata.mongo.errors import FieldValidationError

from udata_ogp import textrules
from udata_ogp.actions import _check_milestone, checked
from udata_ogp.constants import TARGET_CLASSES
from udata_ogp.delivery import sweep
from udata_ogp.errors import Conflict, Forbidden, invalid_field
from udata_ogp.health.sweep import check_links
from udata_ogp.models import (
    Commitment,
    CommitmentLink,
    Deliverable,
    DeliverableRules,
    Proposal,
    check_partial_date,
)
from udata_ogp.permissions import can_decide_proposal, can_edit_commitment, can_edit_deliverable
from udata_ogp.targets import resolve_target, snapshot_of

__all__ = (
    "DELIVERABLE_KEYS",
    "RULE_KEYS",
    "accept_proposal",
    "reject_proposal",
    "create_deliverable",
    "declare",
    "delete_deliverable",
    "update_deliverable",
)

TEXT_KEYS = ("title", "title_en", "due", "note", "note_en", "milestone")
DELIVERABLE_KEYS = frozenset({*TEXT_KEYS, "element", "rules"})
RULE_KEYS = frozenset(DeliverableRules._fields)
_LIST_RULES = ("organizations", "tags", "formats")
_BOOL_RULES = ("open_license", "fresh")
_STR_RULES = ("schema", "frequency")

# What the sweep fills: reset when what the deliverable asks for changes, so that the next
# evaluation starts afresh. `history`, `proof` and `delivered_at` are kept: a delivery that
# happened stays on record.
_VERDICT_RESET = {
    "state": "unknown",
    "state_since": None,
    "reasons": [],
    "checked_at": None,
    "first_failure": None,
    "failure_count": 0,
    "matches": [],
    "matches_digest": None,
}


def _rules(value: Any) -> DeliverableRules:
    if not isinstance(value, Mapping):
        raise invalid_field("rules", _("expected an object"))
    for key in value:
        if key not in RULE_KEYS:
            raise invalid_field(f"rules.{key}", _("unknown field"))
    rules = DeliverableRules()
    for key, item in value.items():
        name = f"rules.{key}"
        if item is None:
            continue
        if key in _LIST_RULES:
            if not isinstance(item, list) or not all(isinstance(v, str) and v for v in item):
                raise invalid_field(name, _("expected a list of strings"))
        elif key in _BOOL_RULES:
            if not isinstance(item, bool):
                raise invalid_field(name, _("expected true or false"))
        elif key in _STR_RULES:
            if not isinstance(item, str):
                raise invalid_field(name, _("expected a string"))
        elif key == "min_resources":
            if isinstance(item, bool) or not isinstance(item, int) or item < 0:
                raise invalid_field(name, _("expected a whole number, 0 or more"))
        setattr(rules, key, item)
    if rules.frequency and rules.frequency not in {f.value for f in UpdateFrequency}:
        raise invalid_field(
            "rules.frequency",
            _(
                "unknown frequency %(value)r; expected one of: %(choices)s",
                value=rules.frequency,
                choices=", ".join(f.value for f in UpdateFrequency),
            ),
        )
    if rules.organizations:
        _check_organizations(rules.organizations)
    return rules


def _check_organizations(ids: list[str]) -> None:
    from udata.models import Organization

    for index, value in enumerate(ids):
        if not ObjectId.is_valid(value):
            raise invalid_field(
                f"rules.organizations.{index}", _("%(value)r is not an id", value=value)
            )
    found = {str(i) for i in Organization.objects(id__in=ids, deleted=None).distinct("id")}
    for index, value in enumerate(ids):
        if value not in found:
            raise invalid_field(
                f"rules.organizations.{index}", _("no organization %(id)s", id=value)
            )


def _apply(deliverable: Deliverable, data: Mapping[str, Any], as_reader: bool = True) -> bool:
    """Set the fields of `data` (checked); whether what the deliverable asks for changed.

    `as_reader`: a target the current user may not read is answered as missing (the API);
    False for a plan file, imported by an administrator (or the CLI, which has no user)."""
    for key in data:
        if key not in DELIVERABLE_KEYS:
            raise invalid_field(key, _("unknown field"))
    for key in TEXT_KEYS:
        if key in data and data[key] is not None and not isinstance(data[key], str):
            raise invalid_field(key, _("expected a string"))
    if data.get("element") is not None and data.get("rules") is not None:
        raise invalid_field("rules", _("give either an element or rules, not both"))
    for key in TEXT_KEYS:
        if key in data:
            setattr(deliverable, key, data[key] or None)
    if "title" in data and not data["title"]:
        raise invalid_field("title", _("required"))
    try:
        check_partial_date(deliverable.due, field="due")
    except FieldValidationError as error:
        raise invalid_field("due", error.raw_message) from None
    _check_milestone(deliverable.commitment, deliverable.milestone)
    asked = False
    if data.get("element") is not None:
        element = data["element"]
        if not isinstance(element, Mapping):
            raise invalid_field("element", _("expected an object with `class` and `id`"))
        for key in element:
            if key not in ("class", "id"):
                raise invalid_field(f"element.{key}", _("unknown field"))
        target_class, target_id = element.get("class"), element.get("id")
        if not isinstance(target_class, str) or target_class not in TARGET_CLASSES:
            raise invalid_field(
                "element.class",
                _("expected one of: %(classes)s", classes=", ".join(TARGET_CLASSES)),
            )
        if not isinstance(target_id, str):
            raise invalid_field("element.id", _("expected an id"))
        target = resolve_target(target_class, target_id, as_reader=as_reader)
        asked = (deliverable.target_class, deliverable.target_id) != (target_class, target.id)
        deliverable.target_class, deliverable.target_id = target_class, target.id
        deliverable.rules = None
    elif data.get("rules") is not None:
        rules = _rules(data["rules"])
        before = deliverable.rules.to_mongo().to_dict() if deliverable.rules else None
        asked = before != rules.to_mongo().to_dict() or deliverable.target_id is not None
        deliverable.rules = rules
        deliverable.target_class = deliverable.target_id = None
    return asked


def declare(deliverable: Deliverable, data: Mapping[str, Any]) -> bool:
    """Set a deliverable's whole declaration, as a plan file gives it (an absent key is empty),
    with the API's checks; whether what it asks for changed (its verdict is then reset).

    An unchanged target is not looked up again: a dataset made private after it was declared
    stays declared (the sweep says it no longer delivers), as through the API.
    """
    for key in data:
        if key not in DELIVERABLE_KEYS:
            raise invalid_field(key, _("unknown field"))
    whole: dict[str, Any] = {key: data.get(key) for key in TEXT_KEYS}
    element, rules = data.get("element"), data.get("rules")
    if element is None and rules is None:
        raise invalid_field("rules", _("give an element (one object) or rules"))
    if element is not None and rules is not None:
        raise invalid_field("rules", _("give either an element or rules, not both"))
    current = (
        {"class": deliverable.target_class, "id": str(deliverable.target_id)}
        if deliverable.target_id is not None
        else None
    )
    if element is None or element != current:
        whole.update({"element": element, "rules": rules})
    asked = _apply(deliverable, whole, as_reader=False)
    if asked:
        for name, value in _VERDICT_RESET.items():
            setattr(deliverable, name, value)
    checked(deliverable)
    return asked


def _evaluate(deliverable: Deliverable) -> Deliverable:
    sweep.check_deliverables(ids=[deliverable.id])
    deliverable.reload()
    return deliverable


def create_deliverable(
    commitment: Commitment,
    data: Mapping[str, Any],
    by=None,
    check: bool = True,
    evaluate: bool = True,
) -> Deliverable:
    """Declare what data must exist for `commitment` (or one of its milestones) to be delivered."""
    if check and not can_edit_commitment(commitment):
        raise Forbidden(_("Only the commitment's editors and administrators declare deliverables."))
    deliverable = Deliverable(commitment=commitment, plan=commitment.plan, created_by=by)
    _apply(deliverable, data)
    if not deliverable.title:
        raise invalid_field("title", _("required"))
    if deliverable.target_id is None and deliverable.rules is None:
        raise invalid_field("rules", _("give an element (one object) or rules"))
    checked(deliverable).save()
    return _evaluate(deliverable) if evaluate else deliverable


def update_deliverable(
    deliverable: Deliverable, data: Mapping[str, Any], check: bool = True
) -> Deliverable:
    """Change a deliverable; a new target or new rules are evaluated afresh."""
    if check and not can_edit_deliverable(deliverable):
        raise Forbidden(_("Only the commitment's editors and administrators change deliverables."))
    asked = _apply(deliverable, data)
    if asked:
        for name, value in _VERDICT_RESET.items():
            setattr(deliverable, name, value)
    checked(deliverable).save()
    return _evaluate(deliverable) if asked else deliverable


def delete_deliverable(deliverable: Deliverable, check: bool = True) -> None:
    if check and not can_edit_deliverable(deliverable):
        raise Forbidden(_("Only the commitment's editors and administrators remove deliverables."))
    commitment_id = deliverable.commitment.id
    deliverable.delete()
    sweep.rollup([commitment_id])


# ---------------------------------------------------------------------------------------------
# The review queue
# ---------------------------------------------------------------------------------------------


def _decision_reason(reason: Any) -> str | None:
    if reason is None or reason == "":
        return None
    if not isinstance(reason, str):
        raise invalid_field("reason", _("expected a string"))
    message = textrules.problem(reason, "note")
    if message is not None:
        raise invalid_field("reason", message)
    return reason


def _decide(proposal: Proposal, state: str, reason: str | None, by) -> None:
    """Record the decision if nobody made one first (a conditional update): else 409."""
    done = Proposal.objects(id=proposal.id, state="open").update(
        set__state=state,
        set__decided_by=by,
        set__decided_at=datetime.now(UTC).replace(tzinfo=None),
        set__reason=reason,
    )
    if not done:
        raise Conflict(_("This proposal was already decided."), field="state")


def accept_proposal(
    proposal: Proposal, reason: Any = None, by=None, check: bool = True
) -> Proposal:
    """The proposed dataset becomes the deliverable's target, or the expected data's."""
    if check and not can_decide_proposal(proposal):
        raise Forbidden(_("Only the commitment's editors and administrators decide proposals."))
    reason = _decision_reason(reason)
    if proposal.state != "open":
        raise Conflict(_("This proposal was already decided."), field="state")
    target = resolve_target(proposal.target_class, str(proposal.target_id))
    link = proposal.link if proposal.kind == "expected_data" else None
    if link is not None:
        if link.target_id is not None:
            raise Conflict(_("This expected data already has its dataset."), field="link")
        taken = CommitmentLink.objects(
            commitment=link.commitment,
            target_class=proposal.target_class,
            target_id=proposal.target_id,
            role=link.role,
        ).first()
        if taken is not None:
            raise Conflict(
                _("The commitment already links this dataset with that role."), field="link"
            )
    _decide(proposal, "accepted", reason, by)
    if link is not None:
        try:
            CommitmentLink.objects(id=link.id, target_id=None).update(
                set__target_class=proposal.target_class,
                set__target_id=proposal.target_id,
                set__snapshot=snapshot_of(target),
            )
        except NotUniqueError:
            Proposal.objects(id=proposal.id).update(set__state="open", unset__decided_at=True)
            raise Conflict(
                _("The commitment already links this dataset with that role."), field="link"
            ) from None
        check_links(ids=[link.id])
    elif proposal.deliverable is not None:
        element = {"class": proposal.target_class, "id": str(proposal.target_id)}
        update_deliverable(proposal.deliverable, {"element": element}, check=False)
    proposal.reload()
    return proposal


def reject_proposal(
    proposal: Proposal, reason: Any = None, by=None, check: bool = True
) -> Proposal:
    """Never proposed again (its key stays)."""
    if check and not can_decide_proposal(proposal):
        raise Forbidden(_("Only the commitment's editors and administrators decide proposals."))
    _decide(proposal, "rejected", _decision_reason(reason), by)
    proposal.reload()
    return proposal
