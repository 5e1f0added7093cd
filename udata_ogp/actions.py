"""Writes that follow the plugin's rules: linking, unlinking, status changes.

The API, the pages, the importer and the tasks all go through here, so each rule lives once.
Permission checks use `udata_ogp.permissions` against the current user; callers that act as the
system (import, tag sweep) pass `check=False`.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime

from mongoengine import Q
from mongoengine.errors import NotUniqueError, ValidationError
from udata.i18n import gettext as _
from udata.mongo.errors import FieldValidationError

from udata_ogp.claims import ImportInProgress, import_in_progress
from udata_ogp.constants import COMPLETION, LINK_ROLES
from udata_ogp.errors import Conflict, Forbidden, InvalidInput, invalid_field
from udata_ogp.models import Commitment, CommitmentLink, StatusChange
from udata_ogp.permissions import can_edit_commitment, can_link, can_unlink
from udata_ogp.targets import resolve_target, snapshot_of, target_label, target_model

__all__ = ("change_status", "checked", "create_link", "delete_link", "update_link")


def checked(doc):
    """`doc` validated by its model's rules (`udata_ogp.textrules` for texts and integers);
    a refused value is a 400 naming its field, before anything is written."""
    try:
        doc.validate()
    except FieldValidationError as error:
        raise invalid_field(error.field, error.raw_message) from None
    except ValidationError as error:
        errors = error.to_dict() if error.errors else {}
        if not errors:
            raise InvalidInput(str(error.message)) from None
        path, message = [], errors
        while isinstance(message, dict) and message:
            key = next(iter(message))
            # A model's own `clean()` refusal comes under `__all__`: the field it names is
            # the one at fault.
            if key != "__all__":
                path.append(str(key))
            message = message[key]
        raise invalid_field(".".join(path), str(message)) from None
    return doc


# Concurrent status changes each retry on the fresh status this many times, then answer 409.
STATUS_CHANGE_ATTEMPTS = 5


def _check_role(role: str) -> None:
    if role not in LINK_ROLES:
        raise InvalidInput(
            _("Unknown role %(role)r; expected one of: %(roles)s."),
            field="role",
            params={"role": role, "roles": list(LINK_ROLES)},
        )


def _check_milestone(commitment: Commitment, milestone: str | None) -> None:
    if milestone and commitment.milestone(milestone) is None:
        raise InvalidInput(
            _(
                "Commitment %(number)s has no milestone %(milestone)r.",
                number=commitment.number,
                milestone=milestone,
            ),
            field="milestone",
        )


def _already_linked(target_class: str | None, role: str) -> Conflict:
    if not target_class:
        return Conflict(_("This object is already linked to this commitment with that role."))
    return Conflict(
        _("This %(class_name)s is already linked to this commitment as %(role)r."),
        params={"class_name": target_label(target_class), "role": role},
    )


def create_link(
    commitment: Commitment,
    *,
    target_class: str | None = None,
    target_id=None,
    role: str = "fulfils",
    note: str | None = None,
    note_en: str | None = None,
    milestone: str | None = None,
    title: str | None = None,
    by=None,
    source: str = "manual",
    check: bool = True,
) -> CommitmentLink:
    """Link a target (or expected data, with a title) to a commitment; 400/403/404/409/410."""
    _check_role(role)
    _check_milestone(commitment, milestone)
    target = None
    if target_class or target_id:
        if not (target_class and target_id):
            raise InvalidInput(_("An element needs both a class and an id."), field="element")
        target = resolve_target(target_class, target_id, as_reader=check)
    elif not title:
        raise InvalidInput(
            _("Give an element to link, or a title for expected data."), field="title"
        )
    if check and not can_link(commitment, target):
        raise Forbidden(_("You may not link this object to this commitment."))
    link = CommitmentLink(
        commitment=commitment,
        plan=commitment.plan,
        milestone=milestone or None,
        target_class=target_class if target else None,
        target_id=target.id if target else None,
        title=title or None,
        role=role,
        note=note,
        note_en=note_en,
        source=source,
        linked_by=by,
        snapshot=snapshot_of(target) if target else None,
    )
    if (
        target is not None
        and CommitmentLink.objects(
            commitment=commitment, target_class=target_class, target_id=target.id, role=role
        ).first()
    ):
        raise _already_linked(target_class, role)
    checked(link)
    try:
        link.save()
    except NotUniqueError:
        raise _already_linked(target_class, role) from None
    return link


def link_target(link: CommitmentLink):
    """The live target of a link, or None when it was hard-deleted (or for expected data)."""
    if link.target_id is None:
        return None
    return target_model(link.target_class).objects(id=link.target_id).first()


def update_link(link: CommitmentLink, *, check: bool = True, **changes) -> CommitmentLink:
    """Change role, note(s) or milestone of a link."""
    if check and not can_unlink(link, link_target(link)):
        raise Forbidden(_("You may not edit this link."))
    allowed = {"role", "note", "note_en", "milestone", "title", "promised_frequency"}
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInput(
            _("Unknown field(s): %(fields)s.", fields=", ".join(sorted(unknown))),
            field=min(unknown),
        )
    if "role" in changes:
        _check_role(changes["role"])
    if changes.get("milestone"):
        _check_milestone(link.commitment, changes["milestone"])
    for key, value in changes.items():
        setattr(link, key, value)
    checked(link)
    try:
        link.save()
    except NotUniqueError:
        raise _already_linked(link.target_class, link.role) from None
    return link


def delete_link(link: CommitmentLink, *, check: bool = True) -> None:
    if check and not can_unlink(link, link_target(link)):
        raise Forbidden(_("You may not remove this link."))
    link.delete()


def change_status(
    commitment: Commitment,
    *,
    status: str | None,
    rationale: str,
    evidence_url: str | None = None,
    by=None,
    check: bool = True,
    at: datetime | None = None,
) -> StatusChange:
    """Record a completion change with who, when, from → to, why and the evidence."""
    if check and not can_edit_commitment(commitment):
        raise Forbidden(_("Only the commitment's editors and administrators change its status."))
    if status is not None and status not in COMPLETION:
        raise InvalidInput(
            _("Unknown status %(status)r; expected one of: %(statuses)s."),
            field="status",
            params={"status": status, "statuses": list(COMPLETION)},
        )
    if not (rationale or "").strip():
        raise InvalidInput(_("A rationale is required."), field="rationale")
    if evidence_url and not evidence_url.startswith(("http://", "https://")):
        raise InvalidInput(_("The evidence URL must be an http(s) URL."), field="evidence_url")
    rationale = rationale.strip()
    if import_in_progress(commitment.plan):
        raise ImportInProgress(
            _("The plan of this commitment is being imported; try again when it is over."),
            field="status",
        )
    for attempt in range(STATUS_CHANGE_ATTEMPTS):
        change = StatusChange(
            at=at or datetime.now(UTC),
            by=by,
            by_name=getattr(by, "fullname", None) if by is not None else None,
            status_from=commitment.status,
            status_to=status,
            rationale=rationale,
            evidence_url=evidence_url or None,
        )
        checked(change)
        # One atomic update, only if nobody changed the status since it was read: the history
        # is appended and the status set together, and each entry's `from` is the previous `to`.
        length = len(commitment.status_history)
        unchanged = Q(status_history__size=length)
        if not length:  # mongoengine stores no empty list: a commitment never changed has none
            unchanged |= Q(status_history__exists=False)
        written = Commitment.objects(Q(id=commitment.id, status=commitment.status) & unchanged)
        written = written.update_one(push__status_history=change, set__status=status)
        commitment.reload()
        if written:
            return change
        time.sleep(random.uniform(0, 0.01 * 2**attempt))  # spread the retries of a crowd
    raise Conflict(
        _("The status of this commitment is being changed by someone else; try again."),
        field="status",
    )
