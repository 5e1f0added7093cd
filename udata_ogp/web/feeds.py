"""Atom feed of a plan (status changes, new links, health changes) and its downloads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import feedgenerator
from flask import Response, abort, current_app, url_for
from udata.i18n import gettext as _

from udata_ogp.constants import COMPLETION, HEALTH, LINK_ROLES
from udata_ogp.health.rules import reason_code
from udata_ogp.loading import ref_id
from udata_ogp.models import Commitment, CommitmentLink, Deliverable, localized
from udata_ogp.textrules import clean
from udata_ogp.visibility import hidden_links, hidden_targets, plan_commitments
from udata_ogp.web.blueprint import (
    blueprint,
    current_lang,
    fmt_date,
    label,
    plan_or_404,
    reason_label,
)
from udata_ogp.web.rows import delivery_reasons, hidden_title

FEED_SIZE = 50


def _aware(value: datetime | None) -> datetime:
    if value is None:
        return datetime(1970, 1, 1, tzinfo=UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _author(commitment: Commitment) -> str | None:
    """Who answers for an entry: the commitment's lead institutions (else the feed's author)."""
    return ", ".join(commitment.lead_institutions or []) or None


def plan_events(plan, lang: str) -> list[dict[str, Any]]:
    """The plan's latest events, newest first: a few queries whatever the plan's size."""
    commitments = {
        c.id: c
        for c in plan_commitments(plan).only(
            "id", "slug", "number", "title", "title_en", "status_history", "lead_institutions"
        )
    }
    events: list[dict[str, Any]] = []
    for commitment in commitments.values():
        url = url_for("ogp.commitment", slug=commitment.slug, _external=True)
        name = f"{commitment.number}. {localized(commitment, 'title', lang)}"
        for change in commitment.status_history or []:
            events.append(
                {
                    "author": _author(commitment),
                    "at": _aware(change.at),
                    "id": f"{url}#status-{change.at.isoformat()}",
                    "title": _("%(commitment)s: status %(from)s → %(to)s")
                    % {
                        "commitment": name,
                        "from": label(COMPLETION, change.status_from, _("Not assessed")),
                        "to": label(COMPLETION, change.status_to, _("Not assessed")),
                    },
                    "link": url,
                    "description": change.rationale
                    + (f"\n{change.evidence_url}" if change.evidence_url else ""),
                }
            )
    links = list(
        CommitmentLink.objects(commitment__in=list(commitments))
        .only(
            "id",
            "commitment",
            "target_class",
            "target_id",
            "title",
            "snapshot",
            "role",
            "created_at",
            "health_history",
        )
        .no_dereference()
        .order_by("-created_at")
    )
    hidden = hidden_links(links)
    for link in links:
        commitment = commitments.get(ref_id(link.commitment))
        if commitment is None:
            continue
        url = url_for("ogp.commitment", slug=commitment.slug, _external=True)
        if link.id in hidden:
            title = hidden_title(link.target_class)
        else:
            title = (link.snapshot.title if link.snapshot else None) or link.title or ""
        name = f"{commitment.number}. {localized(commitment, 'title', lang)}"
        events.append(
            {
                "author": _author(commitment),
                "at": _aware(link.created_at),
                "id": f"{url}#link-{link.id}",
                "title": _("%(commitment)s: new link “%(title)s”")
                % {"commitment": name, "title": title},
                "link": url,
                "description": label(LINK_ROLES, link.role),
            }
        )
        for event in link.health_history or []:
            events.append(
                {
                    "author": _author(commitment),
                    "at": _aware(event.at),
                    "id": f"{url}#health-{link.id}-{event.at.isoformat()}",
                    "title": _("%(commitment)s: “%(title)s” is now %(health)s")
                    % {
                        "commitment": name,
                        "title": title,
                        "health": label(HEALTH, event.health_to),
                    },
                    "link": url,
                    "description": ", ".join(
                        reason_label(reason_code(r) if link.id in hidden else r)
                        for r in event.reasons or []
                    ),
                }
            )
    events.extend(_deliverable_events(commitments, lang))
    events.sort(key=lambda event: event["at"], reverse=True)
    return events[:FEED_SIZE]


def _feed_state(state: str | None, reasons: list[str]) -> str:
    """A deliverable's new state as a feed title words it ("livré", "retiré", …)."""
    if state == "breached" and "withdrawn" in reasons:
        return _("withdrawn")
    return {
        "met": _("delivered"),
        "pending": _("not yet due"),
        "at_risk": _("at risk"),
        "breached": _("not delivered by its due date"),
    }.get(state or "", _("not verified yet"))


def _deliverable_events(commitments: dict, lang: str) -> list[dict[str, Any]]:
    """Changes of state of the deliverables of these (visible) commitments: two queries and
    one per class of the proofs' objects (what the reader may see of them)."""
    deliverables = list(
        Deliverable.objects(commitment__in=list(commitments))
        .only("id", "commitment", "title", "title_en", "history")
        .no_dereference()
        .batch_size(100_000)
    )
    items: dict[Any, list] = {}
    for deliverable in deliverables:
        for event in deliverable.history or []:
            if event.proof:
                items.setdefault(ref_id(deliverable.commitment), []).extend(event.proof.items)
    hidden = hidden_targets(items) if items else set()
    events: list[dict[str, Any]] = []
    for deliverable in deliverables:
        commitment = commitments.get(ref_id(deliverable.commitment))
        if commitment is None:
            continue
        url = url_for("ogp.commitment", slug=commitment.slug, _external=True)
        name = f"{commitment.number}. {localized(commitment, 'title', lang)}"
        title = localized(deliverable, "title", lang)
        for event in deliverable.history or []:
            reasons = list(event.reasons or [])
            lines = []
            at = event.at
            if event.proof and event.state_to == "met":
                at = event.proof.at or event.at
                lines.append(
                    _(
                        "Delivered on %(date)s, verified by the portal's data",
                        date=fmt_date(at),
                    )
                )
                for item in event.proof.items:
                    key = (commitment.id, item.target_class, item.target_id)
                    if key in hidden:
                        lines.append(hidden_title(item.target_class))
                    else:
                        lines.append((item.snapshot.title if item.snapshot else None) or "")
            elif reasons:
                lines.append(delivery_reasons(reasons))
            events.append(
                {
                    "author": _author(commitment),
                    "at": _aware(at),
                    "id": f"{url}#deliverable-{deliverable.id}-{event.at.isoformat()}",
                    "title": _("%(commitment)s: deliverable “%(title)s”: %(state)s")
                    % {
                        "commitment": name,
                        "title": title,
                        "state": _feed_state(event.state_to, reasons),
                    },
                    "link": f"{url}#deliverable-{deliverable.id}",
                    "description": "\n".join(line for line in lines if line),
                }
            )
    return events


@blueprint.route("/plans/<slug>/feed.atom")
def plan_feed(slug: str):
    plan = plan_or_404(slug)
    lang = current_lang()
    feed = feedgenerator.Atom1Feed(
        title=clean(localized(plan, "title", lang)),
        link=url_for("ogp.plan", slug=plan.slug, _external=True),
        description=_("Status changes, new links and link health of the plan's commitments"),
        language=lang,
        feed_url=url_for("ogp.plan_feed", slug=plan.slug, _external=True),
        # Atom wants an author for the feed or every entry: the portal publishes the feed.
        author_name=current_app.config.get("SITE_TITLE") or _("Open government action plans"),
    )
    for event in plan_events(plan, lang):
        # Titles of datasets and reuses are udata's: one with a control character must not
        # make the feed invalid XML.
        feed.add_item(
            title=clean(event["title"]),
            link=event["link"],
            description=clean(event["description"], multiline=True),
            unique_id=event["id"],
            author_name=event["author"],
            pubdate=event["at"],
            updateddate=event["at"],
        )
    return Response(feed.writeString("utf-8"), mimetype="application/atom+xml")


# Flask adds `; charset=utf-8` to text types itself: naming it here sent it twice.
EXPORT_TYPES = {"json": "application/json", "csv": "text/csv"}


@blueprint.route("/plans/<slug>/export.<fmt>")
def plan_export(slug: str, fmt: str):
    if fmt not in EXPORT_TYPES:
        abort(404)
    plan = plan_or_404(slug)
    try:
        from udata_ogp.plans.exporting import export_plan
    except ImportError:  # written by another part of the project; absent in old trees
        abort(404)
    # What the visitor reads, not the whole plan: drafts stay out of public exports.
    data = export_plan(plan, fmt, commitments=plan_commitments(plan))
    if isinstance(data, str):
        data = data.encode("utf-8")
    response = Response(data, mimetype=EXPORT_TYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{plan.slug}.{fmt}"'
    return response
