"""Public pages under /ogp/: plans, commitments, what a dataset serves; forms for producers.

udata 17 renders no public HTML (its front is cdata), so these pages are a plain Flask blueprint
with the plugin's own Jinja layout. Every write goes through `udata_ogp.actions`, where the rules
live; pages only decide what to *offer*, never what is *allowed*.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from flask import (
    render_template,
    request,
)
from mongoengine.queryset.visitor import Q
from udata.auth import current_user
from udata.i18n import gettext as _
from udata.i18n import ngettext

from udata_ogp.constants import (
    COMPLETION,
    COMPLETION_ORDER,
    CONTENT_LANGS,
    DELIVERABLE_STATES,
    DISCREPANCIES,
    HEALTH,
    HEALTH_ORDER,
    VERIFICATION_SUMMARIES,
    ogp_term,
)
from udata_ogp.loading import ref_id
from udata_ogp.models import ActionPlan, Commitment, CommitmentLink, localized
from udata_ogp.permissions import (
    can_edit_commitment,
    can_edit_target,
)
from udata_ogp.visibility import plan_commitments, visible_commitments, visible_plans
from udata_ogp.web.badges import badge_description, served_commitments
from udata_ogp.web.blueprint import (
    blueprint,
    commitment_or_404,
    content_lang,
    current_lang,
    dataset_or_404,
    label,
    plan_or_404,
    user_or_none,
)
from udata_ogp.web.rows import (
    LinkRow,
    build_rows,
    deliverable_views,
    delivery_reasons,
    due_text,
    links_page,
    load_deliverables,
    user_org_ids,
)

# Colours of the status chart (DSFR palette, each ≥ 4.5:1 against white).
STATUS_COLOURS = {
    "not_started": "#666666",
    "limited": "#b34000",
    "substantial": "#0063cb",
    "complete": "#18753c",
    None: "#929292",
}


# Longest bar and whole width of the status chart, in CSS pixels: the chart is drawn at its own
# size, so its 13 px labels stay 13 px, and it fits a plan card on a 320 px screen.
CHART_BAR_WIDTH = 170
CHART_WIDTH = 216

# ---------------------------------------------------------------------------------------------
# Charts
# ---------------------------------------------------------------------------------------------


def status_bars(counts: Counter) -> list[dict[str, Any]]:
    """Bars of the status chart (inline SVG), one per status, unknown last."""
    keys: list[str | None] = [*COMPLETION_ORDER, None]
    top = max([counts.get(key, 0) for key in keys] + [1])
    return [
        {
            "key": key or "unknown",
            "label": label(COMPLETION, key, _("Unknown")) if key else _("Not assessed"),
            "count": counts.get(key, 0),
            "width": round(CHART_BAR_WIDTH * counts.get(key, 0) / top),
            "colour": STATUS_COLOURS[key],
        }
        for key in keys
    ]


# What a plan's verification summary adds up, from its commitments' `verification`.
VERIFICATION_COUNTS = ("deliverables", "met", "at_risk", "breached")


def verification_values(verification: dict | None) -> list[str]:
    """The `?verification=` values a commitment has: its summary, and its discrepancy if any.

    A commitment the delivery sweep has not rolled up yet has no deliverable known: `none`.
    """
    verification = verification or {}
    values = [verification.get("summary") or "none"]
    if verification.get("discrepancy"):
        values.append(verification["discrepancy"])
    return values


def verification_summary(verifications: list[dict | None]) -> dict[str, Any]:
    """Deliverables met, at risk, breached, and commitments by `?verification=` value."""
    totals: Counter = Counter()
    values: Counter = Counter()
    for verification in verifications:
        for key in VERIFICATION_COUNTS:
            totals[key] += int((verification or {}).get(key) or 0)
        values.update(verification_values(verification))
    return {
        "totals": totals,
        "values": values,
        "discrepancies": sum(values.get(key, 0) for key in DISCREPANCIES),
    }


def _plan_stats(plans: list[ActionPlan]) -> dict[Any, dict[str, Any]]:
    """Commitments, status counts and verification of several plans: one query."""
    stats: dict[Any, dict[str, Any]] = {
        plan.id: {"count": 0, "status": Counter(), "verifications": []} for plan in plans
    }
    query = visible_commitments().filter(plan__in=[plan.id for plan in plans])
    for raw in query.only("plan", "status", "verification").as_pymongo():
        entry = stats.get(ref_id(raw.get("plan")))
        if entry is not None:
            entry["count"] += 1
            entry["status"][raw.get("status")] += 1
            entry["verifications"].append(raw.get("verification"))
    for entry in stats.values():
        entry["verification"] = verification_summary(entry.pop("verifications"))
    return stats


# ---------------------------------------------------------------------------------------------
# Deliverables in words (every page template may show them)
# ---------------------------------------------------------------------------------------------


def delivery_state_label(state: str) -> str:
    """A deliverable's state as a badge says it; `withdrawn` is a breach after delivery."""
    if state == "withdrawn":
        return _("Withdrawn")
    return label(DELIVERABLE_STATES, state, _("Not verified yet"))


def verified_text(met: int, total: int) -> str:
    """ "k of n deliverables verified" (French agrees with k: "1 livrable sur 3 vérifié")."""
    return ngettext(
        "%(num)d of %(total)d deliverables verified by the data",
        "%(num)d of %(total)d deliverables verified by the data",
        met,
        total=total,
    )


@blueprint.context_processor
def _delivery_context() -> dict[str, Any]:
    return {
        "DELIVERABLE_STATES": DELIVERABLE_STATES,
        "DISCREPANCIES": DISCREPANCIES,
        "delivery_state_label": delivery_state_label,
        "delivery_reasons": delivery_reasons,
        "verified_text": verified_text,
        "due_text": due_text,
    }


# ---------------------------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------------------------


@blueprint.route("/")
def index():
    plans = list(visible_plans().order_by("-start", "title"))
    stats = _plan_stats(plans)
    return render_template(
        "ogp/index.html",
        plans=plans,
        stats=stats,
        status_bars=status_bars,
        chart_width=CHART_WIDTH,
        verification_labels=VERIFICATION_LABELS,
    )


FILTERS = ("status", "axis", "lead", "area", "health", "verification")

# The `?verification=` values (the API's) as readers read them, in the order offered.
VERIFICATION_LABELS = {**VERIFICATION_SUMMARIES, **DISCREPANCIES}


def _filter_values(commitment: Commitment, key: str, healths: dict) -> list[str]:
    """The values of filter `key` a commitment has, as the filter form sends them."""
    if key == "status":
        return [commitment.status or "none"]
    if key == "axis":
        return [str(commitment.axis)] if commitment.axis else []
    if key == "lead":
        return list(commitment.lead_institutions or [])
    if key == "area":
        return list(commitment.policy_areas or [])
    if key == "verification":
        return verification_values(commitment.verification)
    return [health for health, count in healths.get(commitment.id, Counter()).items() if count]


def _matches(commitment: Commitment, filters: dict[str, str], healths: dict) -> bool:
    return all(
        value in _filter_values(commitment, key, healths) for key, value in filters.items() if value
    )


def _filter_counts(
    commitments: list[Commitment], filters: dict[str, str], healths: dict
) -> dict[str, Counter]:
    """For each filter, how many commitments each value would show, the other filters kept.

    Computed from the commitments the page already loaded: no query, so a value offered never
    leads to an empty list.
    """
    counts: dict[str, Counter] = {}
    for key in FILTERS:
        others = {other: value for other, value in filters.items() if other != key}
        counter: Counter = Counter()
        for commitment in commitments:
            if _matches(commitment, others, healths):
                counter.update(set(_filter_values(commitment, key, healths)))
        counts[key] = counter
    return counts


def _filter_options(
    plan: ActionPlan, counts: dict[str, Counter], filters: dict[str, str]
) -> dict[str, list[dict[str, Any]]]:
    """Choices of each filter: only values with a commitment (and the one chosen), with counts."""
    lang = current_lang()

    def found(key: str) -> list[str]:
        return sorted(set(counts[key]) | ({filters[key]} if filters.get(key) else set()))

    candidates: dict[str, list[tuple[str, str, str | None]]] = {
        "status": [(key, str(text), None) for key, text in COMPLETION.items()]
        + [("none", _("Not assessed"), None)],
        "axis": [
            (
                str(axis.number),
                f"{axis.number}. {localized(axis, 'title', lang)}",
                content_lang(axis, "title"),
            )
            for axis in plan.axes or []
        ],
        "lead": [(name, name, CONTENT_LANGS[0]) for name in found("lead")],
        "area": [(area, *ogp_term(area, lang)) for area in found("area")],
        "health": [
            (key, _("With a link: %(health)s", health=label(HEALTH, key)), None)
            for key in HEALTH_ORDER
        ],
        "verification": [(key, str(text), None) for key, text in VERIFICATION_LABELS.items()],
    }
    options: dict[str, list[dict[str, Any]]] = {}
    for key, choices in candidates.items():
        options[key] = [
            {
                "value": value,
                "text": text,
                "lang": text_lang if text_lang and text_lang != lang else None,
                "count": counts[key].get(value, 0),
                "selected": filters.get(key) == value,
            }
            for value, text, text_lang in choices
            if counts[key].get(value) or filters.get(key) == value
        ]
    return options


@blueprint.route("/plans/<slug>/")
def plan(slug: str):
    plan = plan_or_404(slug)
    commitments = list(plan_commitments(plan))
    healths: dict[Any, Counter] = defaultdict(Counter)
    links = CommitmentLink.objects(commitment__in=[c.id for c in commitments])
    for raw in links.only("commitment", "health").as_pymongo():
        healths[ref_id(raw.get("commitment"))][raw.get("health") or "unknown"] += 1
    filters = {key: request.args.get(key, "").strip() for key in FILTERS}
    shown = [c for c in commitments if _matches(c, filters, healths)]
    counts = _filter_counts(commitments, filters, healths)
    by_axis: dict[Any, list[Commitment]] = defaultdict(list)
    for commitment in shown:
        by_axis[commitment.axis].append(commitment)
    axes = plan.axes_by_number
    sections = [(axes.get(number), number, by_axis[number]) for number in sorted(axes)]
    sections = [s for s in sections if s[2]]
    orphans = [c for number, items in by_axis.items() if number not in axes for c in items]
    return render_template(
        "ogp/plan.html",
        plan=plan,
        commitments=commitments,
        shown=shown,
        sections=sections,
        orphans=orphans,
        healths=healths,
        filters=filters,
        active_filters=any(filters.values()),
        options=_filter_options(plan, counts, filters),
        axis_counts=Counter(c.axis for c in commitments),
        bars=status_bars(Counter(c.status for c in shown)),
        chart_width=CHART_WIDTH,
        health_order=HEALTH_ORDER,
        verification=verification_summary([c.verification for c in commitments]),
        verification_labels=VERIFICATION_LABELS,
    )


def _linkable_targets(limit: int = 200) -> list[tuple[str, str]]:
    """`("Dataset:<id>", label)` choices of the datasets and reuses the user may edit."""
    from udata.models import Dataset, Reuse

    user = user_or_none()
    if user is None:
        return []
    org_ids = list(user_org_ids())
    choices: list[tuple[str, str]] = []
    for model, kind in ((Dataset, _("Dataset")), (Reuse, _("Reuse"))):
        query = model.objects(
            (Q(owner=user.id) | Q(organization__in=org_ids)) & Q(deleted=None) & Q(private__ne=True)
        )
        for raw in query.only("id", "title").order_by("title").limit(limit).as_pymongo():
            choices.append((f"{model.__name__}:{raw['_id']}", f"{kind} — {raw.get('title')}"))
    return choices


@blueprint.route("/commitments/<slug>/")
def commitment(slug: str):
    commitment = commitment_or_404(slug)
    editor = can_edit_commitment(commitment)
    try:
        page = int(request.args.get("links_page", 1))
    except ValueError:
        page = 1
    links = links_page(commitment, page, editor)
    deliverables = deliverable_views(commitment, load_deliverables(commitment))
    plan = commitment.plan
    axis = plan.axes_by_number.get(commitment.axis) if commitment.axis else None
    return render_template(
        "ogp/commitment.html",
        c=commitment,
        plan=plan,
        axis=axis,
        links=links,
        deliverables=deliverables,
        delivered=sum(1 for view in deliverables if view.state == "met"),
        discrepancy=(commitment.verification or {}).get("discrepancy"),
        editor=editor,
        linkable=_linkable_targets() if current_user.is_authenticated else [],
        history=list(reversed(commitment.status_history or [])),
    )


def _dataset_links(dataset) -> list[tuple[LinkRow, Commitment, ActionPlan]]:
    """Links to a dataset with their commitments and plans: three queries plus the target's."""
    links = list(CommitmentLink.objects.for_target("Dataset", dataset.id).no_dereference())
    commitment_ids = {ref_id(link.commitment) for link in links}
    commitments = {
        c.id: c for c in visible_commitments().filter(id__in=list(commitment_ids)).no_dereference()
    }
    plans = {
        p.id: p
        for p in ActionPlan.objects(id__in=list({ref_id(c.plan) for c in commitments.values()}))
    }
    rows = build_rows([link for link in links if ref_id(link.commitment) in commitments])
    result = []
    for row in rows:
        commitment = commitments.get(ref_id(row.link.commitment))
        if commitment is None:
            continue
        plan = plans.get(ref_id(commitment.plan))
        if plan is None:
            continue
        result.append((row, commitment, plan))
    result.sort(key=lambda item: (item[2].start or "", item[1].number), reverse=False)
    return result


def _commitment_choices() -> list[tuple[str, str]]:
    plans = {p.id: p for p in ActionPlan.objects.published().only("id", "title", "title_en")}
    lang = current_lang()
    choices = []
    for raw in (
        Commitment.objects(plan__in=list(plans), published=True)
        .only("id", "plan", "number", "title", "title_en")
        .order_by("plan", "number")
        .no_dereference()
    ):
        plan = plans.get(ref_id(raw.plan))
        choices.append(
            (
                str(raw.id),
                f"{localized(plan, 'title', lang)} — {raw.number}. {localized(raw, 'title', lang)}",
            )
        )
    return choices


@blueprint.route("/datasets/<ident>/")
def dataset(ident: str):
    dataset = dataset_or_404(ident)
    items = _dataset_links(dataset)
    can_edit = can_edit_target(dataset)
    for row, _commitment, _plan in items:
        # Only producers of this dataset see the page's forms: `can_unlink` holds for them.
        row.can_remove = can_edit
    return render_template(
        "ogp/dataset.html",
        dataset=dataset,
        dataset_url=dataset.self_web_url() or dataset.self_api_url(_external=True),
        items=items,
        can_edit=can_edit,
        choices=_commitment_choices() if can_edit else [],
        badge_description=badge_description(served_commitments(dataset)),
    )
