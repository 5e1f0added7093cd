"""Who may do what: one place for every rule, used by the API, the pages and the CLI.

Built on udata's own machinery: `Permission` lets administrators through, `OwnablePermission`
grants members (admin/editor) of the owning organization or the owning user.
"""

from __future__ import annotations

from udata.auth import admin_permission, current_user
from udata.core.dataset.permissions import OwnablePermission

from udata_ogp.models import ActionPlan, Commitment, CommitmentLink, Deliverable, Proposal

__all__ = (
    "admin_permission",
    "can_decide_proposal",
    "can_edit_commitment",
    "can_edit_deliverable",
    "can_edit_plan",
    "can_edit_target",
    "can_link",
    "can_read_commitment",
    "can_read_plan",
    "can_unlink",
)


def _owned(obj) -> bool:
    return bool(obj is not None and (obj.organization or obj.owner))


def can_edit_plan(plan: ActionPlan) -> bool:
    if admin_permission.can():
        return True
    return _owned(plan) and OwnablePermission(plan).can()


def can_edit_commitment(commitment: Commitment) -> bool:
    """Administrators, and members of the organization owning the commitment or its plan."""
    if admin_permission.can():
        return True
    if _owned(commitment) and OwnablePermission(commitment).can():
        return True
    return can_edit_plan(commitment.plan)


def can_read_plan(plan: ActionPlan) -> bool:
    return bool(plan.published) or can_edit_plan(plan)


def can_read_commitment(commitment: Commitment) -> bool:
    if commitment.published and commitment.plan.published:
        return True
    return can_edit_commitment(commitment)


def can_edit_target(target) -> bool:
    """Anyone udata lets edit the dataset, reuse or dataservice (its producers)."""
    return bool(current_user.is_authenticated and target.permissions["edit"].can())


def can_read_target(target) -> bool:
    """Anyone udata lets read it even when private or deleted (producers, partial editors)."""
    return bool(target.permissions["read"].can())


def can_link(commitment: Commitment, target=None) -> bool:
    """Producers link what they edit to any published commitment; editors link anything."""
    if can_edit_commitment(commitment):
        return True
    if not current_user.is_authenticated or target is None:
        return False
    return bool(commitment.published and commitment.plan.published) and can_edit_target(target)


def can_unlink(link: CommitmentLink, target=None) -> bool:
    """The commitment's editors, or the producers of the linked object."""
    if can_edit_commitment(link.commitment):
        return True
    if not current_user.is_authenticated:
        return False
    if target is not None:
        return can_edit_target(target)
    # Expected data (or a target gone for good): whoever linked it may take it back.
    return link.linked_by is not None and link.linked_by.id == current_user.id


def can_edit_deliverable(deliverable: Deliverable) -> bool:
    """A deliverable is part of its commitment: its editors declare, change and remove it."""
    return can_edit_commitment(deliverable.commitment)


def can_decide_proposal(proposal: Proposal) -> bool:
    """The review queue is worked by the commitment's editors only."""
    return can_edit_commitment(proposal.commitment)
