"""Opt-in e-mail digests of link health changes (job `ogp-send-notices`).

udata removed its blanket "update frequency reminder" because nobody asked for it (udata#3472):
these digests are opt-in and targeted.

- `OGP_NOTICES = False` (default): nothing is sent.
- `OGP_NOTICES = True`: only to organisations (or users) that opted in with `set_opt_in()` /
  `udata ogp notices --opt-in ORG_ID` (kept in the plugin's `ogp_notice_optin` collection).
- `OGP_NOTICES = "all"`: to every organisation concerned.

Who: the organisation (admins and editors) or user owning a linked object whose health changed,
and the editors of the commitment it is linked to (its owning organisation or user). What: every
health change not yet notified (`notified_at` older than `health_since`), except a first check
that found a link ok. After a digest run, those links get `notified_at`, so a change is never
notified twice; the next digest lists only what changed since.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from flask import current_app
from udata.i18n import lazy_gettext as _
from udata.mail import LabelledContent, MailMessage, send_mail

from udata_ogp.constants import HEALTH
from udata_ogp.models import Commitment, CommitmentLink

__all__ = ("pending_changes", "send_digests", "set_opt_in")

log = logging.getLogger(__name__)

OPTIN_COLLECTION = "ogp_notice_optin"
EDITOR_ROLES = ("admin", "editor")


def _db():
    return CommitmentLink._get_db()


def set_opt_in(owner_id: Any, enabled: bool = True) -> None:
    """Opt an organisation (or a user) in or out of the digests."""
    if enabled:
        _db()[OPTIN_COLLECTION].replace_one(
            {"_id": str(owner_id)}, {"_id": str(owner_id), "at": _now()}, upsert=True
        )
    else:
        _db()[OPTIN_COLLECTION].delete_one({"_id": str(owner_id)})


def _opted_in(owner_ids: Iterable[str]) -> set[str]:
    ids = list(owner_ids)
    return {d["_id"] for d in _db()[OPTIN_COLLECTION].find({"_id": {"$in": ids}}, {"_id": 1})}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def pending_changes() -> list[dict[str, Any]]:
    """Links whose last health change was not notified yet (raw, with their last event)."""
    fields = {
        "commitment": 1,
        "target_class": 1,
        "target_id": 1,
        "health": 1,
        "reasons": 1,
        "health_since": 1,
        "notified_at": 1,
        "health_history": 1,
        "snapshot": 1,
    }
    pending = []
    for link in CommitmentLink._get_collection().find({"health_since": {"$ne": None}}, fields):
        notified = link.get("notified_at")
        if notified is not None and notified >= link["health_since"]:
            continue
        history = link.get("health_history") or []
        last = history[-1] if history else {}
        if last.get("health_from") in (None, "unknown") and link.get("health") == "ok":
            continue  # a first check that found nothing wrong is no news
        link["event"] = last
        pending.append(link)
    return pending


def _owners(links: list[dict]) -> dict[ObjectId, str]:
    """Owner key (`org id` or `user id`, as strings) of each link's target: one query per class."""
    from udata_ogp.health.storage import raw_collection
    from udata_ogp.targets import target_model

    by_class: dict[str, set] = defaultdict(set)
    for link in links:
        by_class[link["target_class"]].add(link["target_id"])
    owner_of_target: dict[Any, str] = {}
    for class_name, ids in by_class.items():
        coll = raw_collection(target_model(class_name))
        for doc in coll.find({"_id": {"$in": list(ids)}}, {"organization": 1, "owner": 1}):
            owner = doc.get("organization") or doc.get("owner")
            if owner is not None:
                owner_of_target[doc["_id"]] = str(owner)
    owners = {}
    for link in links:
        owner = owner_of_target.get(link["target_id"])
        if owner is None:  # hard-deleted: the snapshot remembers who owned it
            owner = (link.get("snapshot") or {}).get("organization_id")
        if owner:
            owners[link["_id"]] = owner
    return owners


def _recipients(owner_ids: Iterable[str]) -> dict[str, list]:
    """Users to write to for each owner id: an organisation's admins/editors, or the user."""
    from udata.models import Organization, User

    ids = [ObjectId(i) for i in owner_ids if ObjectId.is_valid(i)]
    found: dict[str, list] = {}
    for org in Organization.objects(id__in=ids):
        users = [m.user for m in org.members if m.role in EDITOR_ROLES and m.user is not None]
        found[str(org.id)] = [u for u in users if getattr(u, "email", None)]
    for user in User.objects(id__in=[i for i in ids if str(i) not in found]):
        if user.email:
            found[str(user.id)] = [user]
    return found


def _line(link: dict, commitments: dict) -> LabelledContent:
    commitment = commitments.get(link["commitment"], {})
    snapshot = link.get("snapshot") or {}
    title = snapshot.get("title") or f"{link['target_class']} {link['target_id']}"
    event = link.get("event") or {}
    before = str(HEALTH.get(event.get("health_from"), event.get("health_from") or "?"))
    after = str(HEALTH.get(link.get("health"), link.get("health")))
    reasons = ", ".join(r.split(":", 1)[0] for r in link.get("reasons") or [])
    content = f"{title}: {before} → {after}" + (f" ({reasons})" if reasons else "")
    label = commitment.get("title") or str(link["commitment"])
    return LabelledContent(label=label, content=content, truncated_at=500)


def send_digests(now: datetime | None = None) -> dict[str, Any]:
    """Send one digest per recipient, then mark the notified links. Returns a summary."""
    mode = current_app.config.get("OGP_NOTICES")
    if not mode:
        return {"sent": 0, "links": 0, "reason": "OGP_NOTICES is off"}
    now = now or _now()
    links = pending_changes()
    if not links:
        return {"sent": 0, "links": 0}

    commitments = {
        doc["_id"]: doc
        for doc in Commitment._get_collection().find(
            {"_id": {"$in": list({link["commitment"] for link in links})}},
            {"title": 1, "organization": 1, "owner": 1},
        )
    }
    target_owner = _owners(links)
    # owner id -> links to tell them about
    per_owner: dict[str, list[dict]] = defaultdict(list)
    for link in links:
        commitment = commitments.get(link["commitment"], {})
        editors = commitment.get("organization") or commitment.get("owner")
        for owner in {target_owner.get(link["_id"]), str(editors) if editors else None}:
            if owner:
                per_owner[owner].append(link)
    if mode != "all":
        allowed = _opted_in(per_owner)
        per_owner = {k: v for k, v in per_owner.items() if k in allowed}

    recipients = _recipients(per_owner)
    sent = 0
    for owner, owner_links in per_owner.items():
        users = recipients.get(owner) or []
        if not users:
            continue
        message = MailMessage(
            subject=_("Open government commitments: %(n)s link(s) changed", n=len(owner_links)),
            paragraphs=[
                _("The health of links between commitments and your data changed:"),
                *[_line(link, commitments) for link in owner_links],
            ],
            footer=[_("You receive this digest because your organisation asked for it.")],
        )
        send_mail(users, message)
        sent += len(users)

    # Every pending change is now "told", whether or not anyone had opted in: a later opt-in
    # starts with the changes that follow it, and nothing is ever sent twice.
    CommitmentLink._get_collection().update_many(
        {"_id": {"$in": [link["_id"] for link in links]}}, {"$set": {"notified_at": now}}
    )
    summary = {"sent": sent, "links": len(links), "owners": len(per_owner)}
    log.info("OGP notices: %s", summary)
    return summary
