"""Links as the pages show them: target, producer, health, and whether to offer removal."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from udata.auth import current_user
from udata.i18n import gettext as _

from udata_ogp.constants import (
    LINK_ROLES,
)
from udata_ogp.health.rules import reason_code
from udata_ogp.loading import TargetInfo, load_targets, ref_id
from udata_ogp.models import Commitment, CommitmentLink
from udata_ogp.visibility import hidden_links
from udata_ogp.web.blueprint import user_or_none

LINKS_PER_PAGE = 50
ROLE_ORDER = list(LINK_ROLES)


# ---------------------------------------------------------------------------------------------
# Link rows
# ---------------------------------------------------------------------------------------------


def hidden_title(class_name: str | None) -> str:
    """What a visitor who may not see a link's target reads in place of its title."""
    return {
        "Reuse": _("A reuse that is not public (any more)"),
        "Dataservice": _("An API that is not public (any more)"),
    }.get(class_name or "", _("A dataset that is not public (any more)"))


@dataclass
class LinkRow:
    """One link as a page shows it: target, producer, health, why it is linked."""

    link: CommitmentLink
    target: TargetInfo | None
    health: str
    reasons: list[str] = field(default_factory=list)
    can_remove: bool = False
    # The visitor may not see the target (`udata_ogp.visibility`): nothing of it is shown.
    hidden: bool = False

    @property
    def expected(self) -> bool:
        return self.link.target_id is None

    @property
    def gone(self) -> bool:
        return self.health == "gone"

    @property
    def title(self) -> str:
        if self.hidden:
            return hidden_title(self.link.target_class)
        if self.target is not None and self.target.exists and self.target.title:
            return self.target.title
        snapshot = self.link.snapshot
        return (snapshot.title if snapshot else None) or self.link.title or str(self.link.target_id)

    @property
    def url(self) -> str | None:
        if self.target is not None and self.target.exists and not self.hidden:
            return self.target.url
        return None

    @property
    def producer(self) -> str | None:
        if self.hidden:
            return None
        if self.target is not None and self.target.exists and self.target.producer:
            return self.target.producer
        snapshot = self.link.snapshot
        return snapshot.organization if snapshot else None

    @property
    def last_update(self):
        if self.hidden or self.target is None:
            return None
        return self.target.last_update

    @property
    def kind(self) -> str:
        return {
            "Dataset": _("Dataset"),
            "Reuse": _("Reuse"),
            "Dataservice": _("API"),
        }.get(self.link.target_class or "", _("Expected data"))


def _removable_hint(user_org_ids: set, editor: bool):
    """Whether to *offer* removal; `delete_link` decides (same rule: `can_unlink`)."""
    user = user_or_none()

    def check(link: CommitmentLink, target: TargetInfo | None) -> bool:
        if user is None:
            return False
        if editor:
            return True
        if target is not None and target.exists:
            return target.producer_id in user_org_ids or target.producer_id == user.id
        return ref_id(link.linked_by) == user.id

    return check


def user_org_ids() -> set:
    user = user_or_none()
    if user is None:
        return set()
    return {raw["_id"] for raw in user.organizations.only("id").as_pymongo()}


def build_rows(links: list[CommitmentLink], editor: bool = False) -> list[LinkRow]:
    """Rows of links; `editor`: the visitor edits the commitment(s) of all these links."""
    targets = load_targets((link.target_class, link.target_id) for link in links)
    offer = _removable_hint(user_org_ids() if current_user.is_authenticated else set(), editor)
    edited = {ref_id(link.commitment) for link in links} if editor else None
    hidden = hidden_links(links, targets, edited)
    rows = []
    for link in links:
        target = (
            targets.get((link.target_class, link.target_id)) if link.target_id is not None else None
        )
        health = link.health or "unknown"
        reasons = list(link.reasons or [])
        if target is not None and not target.exists:
            # A hard-deleted target is gone whatever the last sweep said.
            health = "gone"
            if "gone" not in reasons:
                reasons.append("gone")
        if link.id in hidden:
            # Reason details name the target's resources: only the codes are shown.
            reasons = list(dict.fromkeys(reason_code(reason) for reason in reasons))
        rows.append(LinkRow(link, target, health, reasons, offer(link, target), link.id in hidden))
    return rows


def links_page(commitment: Commitment, page: int, editor: bool) -> dict[str, Any]:
    """The commitment's links, role by role, one page at a time; a constant number of queries.

    One query reads every link's id, role and health (counts, order), one reads the page's links,
    then one per target class and owner kind (`load_targets`).
    """
    meta = list(
        CommitmentLink.objects(commitment=commitment)
        .only("id", "role", "health", "created_at")
        # One batch: a `getMore` per 101 links would make the query count grow with the links.
        .batch_size(100_000)
        .as_pymongo()
    )
    role_rank = {role: index for index, role in enumerate(ROLE_ORDER)}
    meta.sort(key=lambda raw: (role_rank.get(raw.get("role"), 99), raw.get("created_at") or 0))
    total = len(meta)
    pages = max(1, -(-total // LINKS_PER_PAGE))
    page = min(max(page, 1), pages)
    page_ids = [raw["_id"] for raw in meta[(page - 1) * LINKS_PER_PAGE : page * LINKS_PER_PAGE]]
    by_id = {link.id: link for link in CommitmentLink.objects(id__in=page_ids).no_dereference()}
    links = [by_id[oid] for oid in page_ids if oid in by_id]
    rows = build_rows(links, editor)
    groups: dict[str, list[LinkRow]] = defaultdict(list)
    for row in rows:
        groups[row.link.role].append(row)
    return {
        "groups": [(role, groups[role]) for role in ROLE_ORDER if groups.get(role)]
        + [(role, rows_) for role, rows_ in groups.items() if role not in role_rank],
        "total": total,
        "page": page,
        "pages": pages,
        "role_counts": Counter(raw.get("role") for raw in meta),
        "health_counts": Counter(raw.get("health") or "unknown" for raw in meta),
    }
