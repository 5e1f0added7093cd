"""Links as the pages show them: target, producer, health, and whether to offer removal."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bson import ObjectId
from flask_babel import format_date
from markupsafe import Markup, escape
from udata.auth import current_user
from udata.i18n import gettext as _
from udata.i18n import lazy_gettext as L_
from udata.i18n import ngettext

from udata_ogp.constants import (
    LINK_ROLES,
)
from udata_ogp.health.rules import reason_code
from udata_ogp.loading import TargetInfo, load_targets, ref_id
from udata_ogp.models import Commitment, CommitmentLink, Deliverable
from udata_ogp.textrules import clean
from udata_ogp.visibility import DeliverableTarget, hidden_links, hidden_targets
from udata_ogp.web.blueprint import reason_label, user_or_none

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


# ---------------------------------------------------------------------------------------------
# Deliverables (issue 12): what the portal's own data says of a commitment's promises
# ---------------------------------------------------------------------------------------------

# How many state changes a deliverable shows: the latest ones, the rest is in the API.
DELIVERABLE_HISTORY_SHOWN = 10


@dataclass
class ShownTarget:
    """A match, a proof item or a deliverable's target as a page shows it (or hides it)."""

    class_name: str
    title: str
    url: str | None = None
    producer: str | None = None
    hidden: bool = False
    # No document any more: the title is the one frozen when it was last seen.
    gone: bool = False
    item: Any = None  # the ProofItem, for its licence, last update and resources
    license: str | None = None


@dataclass
class DeliverableView:
    """One deliverable on the commitment page: its state in words, data, proof and history."""

    deliverable: Any
    milestone: Any = None
    target: ShownTarget | None = None
    matches: list[ShownTarget] = field(default_factory=list)
    proof: list[ShownTarget] = field(default_factory=list)
    history: list[Any] = field(default_factory=list)
    rules: Markup | None = None

    @property
    def state(self) -> str:
        return self.deliverable.state or "unknown"

    @property
    def withdrawn(self) -> bool:
        return self.state == "breached" and "withdrawn" in (self.deliverable.reasons or [])

    @property
    def badge(self) -> str:
        """`met`, `pending`, … or `withdrawn`: the CSS modifier and the badge's wording."""
        return "withdrawn" if self.withdrawn else self.state

    @property
    def phrase(self) -> str:
        return state_phrase(self.deliverable)


# Reasons the delivery sweep gives for a state, as readers read them; others as links' reasons.
DELIVERY_REASONS = {
    "withdrawn": L_("its data went away after delivery"),
    "due_passed": L_("the promised date has passed"),
    "due_soon": L_("the promised date is near"),
    "stale_matches": L_("its data is no longer kept up to date"),
    # How the data went, after `withdrawn` (`delivery.rules.removal_reason`).
    "rules": L_("it no longer meets the rules"),
}


def delivery_reasons(codes: list[str] | None) -> str:
    return ", ".join(
        str(DELIVERY_REASONS[code]) if code in DELIVERY_REASONS else reason_label(code)
        for code in codes or []
    )


def due_text(due: str | None) -> str:
    """A due date as a reader reads it: a full date in their language, a partial one as written."""
    if not due:
        return ""
    try:
        return format_date(date.fromisoformat(due), "long") if len(due) == 10 else due
    except ValueError:
        return due


def _date_text(value: Any) -> str:
    return format_date(value, "long") if value else ""


def state_phrase(deliverable: Any) -> str:
    """A deliverable's state in words a citizen understands (see constants.DELIVERABLE_STATES)."""
    state = deliverable.state or "unknown"
    reasons = deliverable.reasons or []
    due = due_text(deliverable.due)
    if state == "met":
        at = deliverable.proof.at if deliverable.proof else deliverable.delivered_at
        if at:
            return _("Delivered on %(date)s, verified by the portal's data", date=_date_text(at))
        return _("Delivered, verified by the portal's data")
    if state == "breached":
        if "withdrawn" in reasons:
            return _(
                "Withdrawn on %(date)s: the data that delivered it is gone",
                date=_date_text(deliverable.state_since),
            )
        if due:
            return _("Overdue: the promised date (%(date)s) has passed", date=due)
        return _("Overdue: the promised date has passed")
    if state == "at_risk":
        if deliverable.matches:
            return _("At risk: the only data that delivers it is no longer kept up to date")
        if due:
            return _("At risk: promised for %(date)s and not delivered yet", date=due)
        return _("At risk: not delivered yet")
    if state == "pending":
        if due:
            return _("Not yet due: promised for %(date)s", date=due)
        return _("Not delivered yet; no date was promised")
    return _("Not verified yet: the portal has not checked its data yet")


def quoted(text: str) -> str:
    """A name quoted as the reader's language quotes (« » in French)."""
    return _("“%(text)s”", text=text)


def _or(items: list[str]) -> str:
    return _(" or ").join(items)


def rules_text(rules: Any, org_names: dict) -> Markup:
    """A deliverable's rules in plain words: "any dataset of <org> tagged …, under an open licence".

    Organisations' names are French content: marked `lang="fr"` for screen readers.
    """
    from udata.core.dataset.constants import UpdateFrequency

    def fr(text: str) -> Markup:
        return Markup('<span lang="fr">{}</span>').format(text)

    def worded(message: str, **params: Any) -> Markup:
        # The message is translated first, then the (escaped) parameters are put in.
        return Markup(escape(message)) % params

    names = [org_names.get(str(oid)) or str(oid) for oid in rules.organizations or []]
    if names:
        text = worded(
            _("Any dataset published by %(orgs)s"),
            orgs=Markup(escape(_(" or "))).join(fr(name) for name in names),
        )
    else:
        text = escape(_("Any dataset"))
    parts = [text]
    # The other parts are plain text: translated with their values, then escaped.
    if rules.tags:
        tags = ", ".join(quoted(tag) for tag in rules.tags)
        parts.append(ngettext("tagged %(tags)s", "tagged %(tags)s", len(rules.tags), tags=tags))
    if rules.schema:
        parts.append(_("with the schema %(schema)s", schema=quoted(rules.schema)))
    if rules.open_license:
        parts.append(_("under an open licence"))
    if rules.formats:
        formats = _or([fmt.upper() for fmt in rules.formats])
        parts.append(_("with a resource in %(formats)s", formats=formats))
    if rules.min_resources:
        parts.append(
            ngettext(
                "with at least %(num)d resource",
                "with at least %(num)d resources",
                rules.min_resources,
            )
        )
    if rules.frequency:
        try:
            frequency = str(UpdateFrequency(rules.frequency).label)
        except ValueError:
            frequency = rules.frequency
        parts.append(_("updated at least as often as %(frequency)s", frequency=quoted(frequency)))
    if rules.fresh:
        parts.append(_("kept up to date (its updates are not overdue)"))
    # "Any dataset published by X tagged “a”, with the schema “s”, under an open licence".
    rest = Markup(", ").join(escape(part) for part in parts[1:])
    return text + Markup(" ") + rest if rest else text


def _org_names(deliverables: list) -> dict[str, str]:
    """Names of the organisations the deliverables' rules name: one query."""
    from udata.models import Organization

    ids = {str(oid) for d in deliverables if d.rules for oid in d.rules.organizations or [] if oid}
    valid = [ObjectId(oid) for oid in ids if ObjectId.is_valid(oid)]
    if not valid:
        return {}
    raws = Organization.objects(id__in=valid).only("id", "name").as_pymongo()
    return {str(raw["_id"]): clean(raw.get("name")) for raw in raws}


def _license_titles(ids: set[str]) -> dict[str, str]:
    """Titles of the proofs' licences: one query."""
    from udata.models import License

    ids = {oid for oid in ids if oid}
    if not ids:
        return {}
    raws = License.objects(id__in=list(ids)).only("id", "title").as_pymongo()
    return {raw["_id"]: raw.get("title") or raw["_id"] for raw in raws}


def _shown(
    item: Any,
    commitment_id: Any,
    hidden: set,
    targets: dict,
    snapshot: Any = None,
) -> ShownTarget:
    key = (ObjectId(str(commitment_id)), item.target_class, item.target_id)
    if key in hidden:
        return ShownTarget(item.target_class, hidden_title(item.target_class), hidden=True)
    target = targets.get((item.target_class, item.target_id))
    snapshot = snapshot if snapshot is not None else getattr(item, "snapshot", None)
    live = target is not None and target.exists
    title = (target.title if live else None) or (snapshot.title if snapshot else None)
    producer = (target.producer if live else None) or (snapshot.organization if snapshot else None)
    return ShownTarget(
        item.target_class,
        title or str(item.target_id),
        url=target.url if live else None,
        producer=producer,
        gone=not live,
    )


def deliverable_views(commitment: Commitment, deliverables: list) -> list[DeliverableView]:
    """The commitment's deliverables as the page shows them: a constant number of queries.

    What the reader may see of each match, proof item and target is `visibility.hidden_targets`
    (one query for the edited commitments, one per class); live titles and producers come from
    `load_targets` (one per class and owner kind); then one for the rules' organisations and one
    for the proofs' licences.
    """
    milestones = {m.number: m for m in commitment.milestones or []}
    refs: list[Any] = []
    own: dict[Any, DeliverableTarget] = {}  # each deliverable's own target
    for d in deliverables:
        refs.extend(d.matches or [])
        refs.extend(d.proof.items if d.proof else [])
        if d.target_id is not None:
            own[d.id] = DeliverableTarget(d)
            refs.append(own[d.id])
    hidden = hidden_targets({commitment.id: refs}) if refs else set()
    targets = load_targets(
        (ref.target_class, ref.target_id) for ref in refs if ref.target_id is not None
    )
    org_names = _org_names(deliverables)
    licenses = _license_titles(
        {item.license for d in deliverables if d.proof for item in d.proof.items if item.license}
    )
    views = []
    for d in deliverables:
        view = DeliverableView(d, milestone=milestones.get(d.milestone) if d.milestone else None)
        if d.target_id is not None:
            view.target = _shown(own[d.id], commitment.id, hidden, targets)
        elif d.rules is not None:
            view.rules = rules_text(d.rules, org_names)
        view.matches = [_shown(m, commitment.id, hidden, targets) for m in d.matches or []]
        for item in d.proof.items if d.proof else []:
            shown = _shown(item, commitment.id, hidden, targets)
            if not shown.hidden:
                shown.item = item
                shown.license = licenses.get(item.license, item.license)
            view.proof.append(shown)
        view.history = list(reversed(d.history or []))[:DELIVERABLE_HISTORY_SHOWN]
        views.append(view)
    return views


def load_deliverables(commitment: Commitment) -> list:
    """The commitment's deliverables, milestone order then creation: one query."""
    deliverables = list(
        Deliverable.objects(commitment=commitment)
        .no_dereference()
        # One batch: a `getMore` per 101 deliverables would grow the page's query count.
        .batch_size(100_000)
    )
    deliverables.sort(key=lambda d: (d.milestone is None, d.milestone or "", d.created_at or 0))
    return deliverables
