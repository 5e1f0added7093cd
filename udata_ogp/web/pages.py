"""Public pages under /ogp/: plans, commitments, what a dataset serves; forms for producers.

udata 17 renders no public HTML (its front is cdata), so these pages are a plain Flask blueprint
with the plugin's own Jinja layout. Every write goes through `udata_ogp.actions`, where the rules
live; pages only decide what to *offer*, never what is *allowed*.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bson import ObjectId
from bson.errors import InvalidId
from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_date, refresh
from mongoengine.queryset.visitor import Q
from udata.auth import current_user
from udata.i18n import gettext as _
from udata.i18n import lazy_gettext as L_

from udata_ogp.actions import change_status, create_link, delete_link
from udata_ogp.constants import (
    COMPLETION,
    COMPLETION_ORDER,
    HEALTH,
    HEALTH_ORDER,
    LINK_ROLES,
    OGP_VALUES,
    PLAN_STATUS,
)
from udata_ogp.errors import OgpError
from udata_ogp.loading import TargetInfo, load_targets, ref_id
from udata_ogp.models import ActionPlan, Commitment, CommitmentLink, localized
from udata_ogp.permissions import (
    admin_permission,
    can_edit_commitment,
    can_edit_target,
    can_read_commitment,
    can_read_plan,
)

blueprint = Blueprint(
    "ogp",
    __name__,
    url_prefix="/ogp",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

LANGS = ("fr", "en")
LANG_COOKIE = "ogp_lang"
LINKS_PER_PAGE = 50
ROLE_ORDER = list(LINK_ROLES)
STATIC_DIR = Path(__file__).parent / "static"

# Short reason codes written by the link sweep, as visitors read them. Unknown codes are shown
# verbatim, so a new code never hides a problem.
REASON_LABELS = {
    "archived": L_("archived by its producer"),
    "deleted": L_("deleted by its producer"),
    "overdue": L_("update overdue"),
    "resources_unavailable": L_("resources unavailable"),
    "no_resources": L_("no resources"),
    "private": L_("made private"),
    "gone": L_("no longer exists"),
}

# Colours of the status chart (DSFR palette, each ≥ 4.5:1 against white).
STATUS_COLOURS = {
    "not_started": "#666666",
    "limited": "#b34000",
    "substantial": "#0063cb",
    "complete": "#18753c",
    None: "#929292",
}


# ---------------------------------------------------------------------------------------------
# Language, context, errors
# ---------------------------------------------------------------------------------------------


@blueprint.before_request
def _pick_language() -> None:
    """`?lang=` wins (and is remembered in a cookie), then the cookie, then French."""
    lang = request.args.get("lang")
    if lang not in LANGS:
        lang = request.cookies.get(LANG_COOKIE)
    if lang not in LANGS:
        lang = "fr"
    g.lang_code = lang
    refresh()


@blueprint.after_request
def _remember_language(response: Response) -> Response:
    lang = request.args.get("lang")
    if lang in LANGS:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax")
    return response


def current_lang() -> str:
    return getattr(g, "lang_code", None) or "fr"


def lang_url(lang: str) -> str:
    """This page in another language (the other query arguments kept)."""
    args = request.args.to_dict(flat=False)
    args["lang"] = [lang]
    return f"{request.path}?{urlencode(args, doseq=True)}"


def page_url_with(**changes: Any) -> str:
    args = request.args.to_dict(flat=True)
    args.update({key: str(value) for key, value in changes.items() if value is not None})
    return f"{request.path}?{urlencode(args)}"


def _dsfr_available() -> bool:
    return (STATIC_DIR / "dsfr" / "dsfr.min.css").is_file()


def label(mapping: dict, key: Any, default: str | None = None) -> str:
    if key in mapping:
        return str(mapping[key])
    return default if default is not None else (str(key) if key else _("Unknown"))


def reason_label(code: str) -> str:
    return str(REASON_LABELS[code]) if code in REASON_LABELS else code


def fmt_date(value: Any) -> str:
    """A date in the reader's language; partial dates of plans ("2018-06") stay as written."""
    if not value:
        return ""
    if isinstance(value, str):
        return value
    return format_date(value, "long")


def content_lang(obj: Any, name: str) -> str:
    """The language `localized()` picked, for `lang` attributes on French fallbacks."""
    lang = current_lang()
    if lang != "fr" and getattr(obj, f"{name}_{lang}", None):
        return lang
    return "fr"


def _auth_url(endpoint: str) -> str | None:
    """udata's own sign-in / sign-out pages (Flask-Security), back to this page after."""
    try:
        return url_for(endpoint, next=request.full_path)
    except Exception:  # an app without Flask-Security views
        return None


@blueprint.app_template_filter("http_url")
def http_url(value: Any) -> bool:
    """Only http(s) URLs of imported texts become links (no `javascript:` from a source file)."""
    return isinstance(value, str) and value.startswith(("http://", "https://"))


@blueprint.context_processor
def _context() -> dict[str, Any]:
    lang = current_lang()
    return {
        "clang": content_lang,
        "login_url": _auth_url("security.login"),
        "logout_url": _auth_url("security.logout"),
        "lang": lang,
        "other_lang": "en" if lang == "fr" else "fr",
        "lang_url": lang_url,
        "page_url_with": page_url_with,
        "loc": lambda obj, name: localized(obj, name, lang),
        "label": label,
        "reason_label": reason_label,
        "reasons_text": lambda codes: ", ".join(reason_label(code) for code in codes),
        "fmt_date": fmt_date,
        "COMPLETION": COMPLETION,
        "HEALTH": HEALTH,
        "LINK_ROLES": LINK_ROLES,
        "OGP_VALUES": OGP_VALUES,
        "PLAN_STATUS": PLAN_STATUS,
        "dsfr": _dsfr_available(),
    }


@blueprint.route("/<path:anything>")
def _unknown(anything: str):
    """Any other path under /ogp/ gets the plugin's 404 page, in the visitor's language."""
    abort(404)


@blueprint.errorhandler(404)
def _not_found(error):
    return render_template("ogp/error.html", code=404, message=_("Page not found")), 404


@blueprint.errorhandler(403)
def _forbidden(error):
    return render_template("ogp/error.html", code=403, message=_("Access denied")), 403


def _user():
    return current_user._get_current_object() if current_user.is_authenticated else None


def _back(default: str) -> str:
    """Where to go after a form: the page it came from, when it is one of ours."""
    target = request.form.get("next") or ""
    if target.startswith("/ogp/") and "//" not in target:
        return target
    return default


# ---------------------------------------------------------------------------------------------
# Look-ups
# ---------------------------------------------------------------------------------------------


def plan_or_404(slug: str) -> ActionPlan:
    plan = ActionPlan.objects(slug=slug).first()
    if plan is None or not can_read_plan(plan):
        abort(404)
    return plan


def commitment_or_404(slug: str) -> Commitment:
    commitment = Commitment.objects(slug=slug).first()
    if commitment is None or not can_read_commitment(commitment):
        abort(404)
    return commitment


def dataset_or_404(ident: str):
    from udata.models import Dataset

    dataset = None
    try:
        dataset = Dataset.objects(id=ObjectId(ident)).first()
    except (InvalidId, TypeError):
        pass
    if dataset is None:
        dataset = Dataset.objects(slug=ident).first()
    if dataset is None:
        abort(404)
    if (dataset.deleted or dataset.private) and not can_edit_target(dataset):
        abort(404)
    return dataset


def visible_commitments(plan: ActionPlan) -> list[Commitment]:
    commitments = list(Commitment.objects(plan=plan).order_by("number"))
    if can_edit_plan_cached(plan):
        return commitments
    return [c for c in commitments if c.published]


def can_edit_plan_cached(plan: ActionPlan) -> bool:
    from udata_ogp.permissions import can_edit_plan

    cache = g.setdefault("_ogp_plan_edit", {})
    if plan.id not in cache:
        cache[plan.id] = can_edit_plan(plan)
    return cache[plan.id]


# ---------------------------------------------------------------------------------------------
# Link rows
# ---------------------------------------------------------------------------------------------


@dataclass
class LinkRow:
    """One link as a page shows it: target, producer, health, why it is linked."""

    link: CommitmentLink
    target: TargetInfo | None
    health: str
    reasons: list[str] = field(default_factory=list)
    can_remove: bool = False

    @property
    def expected(self) -> bool:
        return self.link.target_id is None

    @property
    def gone(self) -> bool:
        return self.health == "gone"

    @property
    def title(self) -> str:
        if self.target is not None and self.target.exists and self.target.title:
            return self.target.title
        snapshot = self.link.snapshot
        return (snapshot.title if snapshot else None) or self.link.title or str(self.link.target_id)

    @property
    def url(self) -> str | None:
        if self.target is not None and self.target.exists:
            return self.target.url
        return None

    @property
    def producer(self) -> str | None:
        if self.target is not None and self.target.exists and self.target.producer:
            return self.target.producer
        snapshot = self.link.snapshot
        return snapshot.organization if snapshot else None

    @property
    def last_update(self):
        return self.target.last_update if self.target is not None else None

    @property
    def kind(self) -> str:
        return {
            "Dataset": _("Dataset"),
            "Reuse": _("Reuse"),
            "Dataservice": _("API"),
        }.get(self.link.target_class or "", _("Expected data"))


def _removable_hint(user_org_ids: set, editor: bool):
    """Whether to *offer* removal; `delete_link` decides (same rule: `can_unlink`)."""
    user = _user()

    def check(link: CommitmentLink, target: TargetInfo | None) -> bool:
        if user is None:
            return False
        if editor:
            return True
        if target is not None and target.exists:
            return target.producer_id in user_org_ids or target.producer_id == user.id
        return ref_id(link.linked_by) == user.id

    return check


def _user_org_ids() -> set:
    user = _user()
    if user is None:
        return set()
    return {raw["_id"] for raw in user.organizations.only("id").as_pymongo()}


def build_rows(links: list[CommitmentLink], editor: bool = False) -> list[LinkRow]:
    targets = load_targets((link.target_class, link.target_id) for link in links)
    offer = _removable_hint(_user_org_ids() if current_user.is_authenticated else set(), editor)
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
        rows.append(LinkRow(link, target, health, reasons, offer(link, target)))
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
            "width": round(300 * counts.get(key, 0) / top),
            "colour": STATUS_COLOURS[key],
        }
        for key in keys
    ]


def _plan_stats(plans: list[ActionPlan]) -> dict[Any, dict[str, Any]]:
    """Commitments and status counts of several plans: one query."""
    stats: dict[Any, dict[str, Any]] = {
        plan.id: {"count": 0, "status": Counter()} for plan in plans
    }
    query = Commitment.objects(plan__in=[plan.id for plan in plans])
    if not admin_permission.can():
        query = query.filter(published=True)
    for raw in query.only("plan", "status").as_pymongo():
        entry = stats.get(ref_id(raw.get("plan")))
        if entry is not None:
            entry["count"] += 1
            entry["status"][raw.get("status")] += 1
    return stats


# ---------------------------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------------------------


@blueprint.route("/")
def index():
    query = ActionPlan.objects if admin_permission.can() else ActionPlan.objects.published()
    plans = list(query.order_by("-start", "title"))
    stats = _plan_stats(plans)
    return render_template(
        "ogp/index.html",
        plans=plans,
        stats=stats,
        status_bars=status_bars,
    )


def _matches(commitment: Commitment, filters: dict[str, str], healths: dict) -> bool:
    status = filters.get("status")
    if status:
        if (commitment.status or "none") != status:
            return False
    axis = filters.get("axis")
    if axis and str(commitment.axis or "") != axis:
        return False
    lead = filters.get("lead")
    if lead and lead not in (commitment.lead_institutions or []):
        return False
    area = filters.get("area")
    if area and area not in (commitment.policy_areas or []):
        return False
    health = filters.get("health")
    if health and not healths.get(commitment.id, Counter()).get(health):
        return False
    return True


@blueprint.route("/plans/<slug>/")
def plan(slug: str):
    plan = plan_or_404(slug)
    commitments = visible_commitments(plan)
    healths: dict[Any, Counter] = defaultdict(Counter)
    links = CommitmentLink.objects(commitment__in=[c.id for c in commitments])
    for raw in links.only("commitment", "health").as_pymongo():
        healths[ref_id(raw.get("commitment"))][raw.get("health") or "unknown"] += 1
    filters = {
        key: request.args.get(key, "").strip()
        for key in ("status", "axis", "lead", "area", "health")
    }
    shown = [c for c in commitments if _matches(c, filters, healths)]
    options = {
        "lead": sorted({i for c in commitments for i in (c.lead_institutions or [])}),
        "area": sorted({a for c in commitments for a in (c.policy_areas or [])}),
    }
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
        options=options,
        bars=status_bars(Counter(c.status for c in shown)),
        health_order=HEALTH_ORDER,
    )


def _linkable_targets(limit: int = 200) -> list[tuple[str, str]]:
    """`("Dataset:<id>", label)` choices of the datasets and reuses the user may edit."""
    from udata.models import Dataset, Reuse

    user = _user()
    if user is None:
        return []
    org_ids = list(_user_org_ids())
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
    plan = commitment.plan
    axis = plan.axes_by_number.get(commitment.axis) if commitment.axis else None
    return render_template(
        "ogp/commitment.html",
        c=commitment,
        plan=plan,
        axis=axis,
        links=links,
        editor=editor,
        linkable=_linkable_targets() if current_user.is_authenticated else [],
        history=list(reversed(commitment.status_history or [])),
    )


def _form_outcome(action: Callable[[], object], done: str, back: str):
    """Run a form's action through the shared rules; come back with its outcome flashed."""
    try:
        action()
    except OgpError as error:
        flash(error.message, "error")
    else:
        flash(done, "success")
    return redirect(back, 303)


def _link_form_fields() -> dict[str, Any]:
    """Role and note of the link forms (the `link_role_and_note` macro)."""
    return {
        "role": request.form.get("role") or "fulfils",
        "note": (request.form.get("note") or "").strip() or None,
        "by": _user(),
    }


@blueprint.route("/commitments/<slug>/links", methods=["POST"])
def commitment_link(slug: str):
    commitment = commitment_or_404(slug)
    back = _back(url_for("ogp.commitment", slug=commitment.slug))
    target_class, _sep, target_id = request.form.get("target", "").partition(":")
    return _form_outcome(
        lambda: create_link(
            commitment,
            target_class=target_class or None,
            target_id=target_id or None,
            milestone=request.form.get("milestone") or None,
            **_link_form_fields(),
        ),
        _("The link was added."),
        back,
    )


@blueprint.route("/links/<link_id>/delete", methods=["POST"])
def link_delete(link_id: str):
    try:
        link = CommitmentLink.objects(id=ObjectId(link_id)).first()
    except (InvalidId, TypeError):
        link = None
    if link is None:
        abort(404)
    back = _back(url_for("ogp.commitment", slug=link.commitment.slug))
    return _form_outcome(lambda: delete_link(link), _("The link was removed."), back)


@blueprint.route("/commitments/<slug>/status", methods=["POST"])
def commitment_status(slug: str):
    commitment = commitment_or_404(slug)
    return _form_outcome(
        lambda: change_status(
            commitment,
            status=request.form.get("status") or None,
            rationale=request.form.get("rationale") or "",
            evidence_url=(request.form.get("evidence_url") or "").strip() or None,
            by=_user(),
        ),
        _("The status change was recorded."),
        url_for("ogp.commitment", slug=commitment.slug),
    )


def _dataset_links(dataset) -> list[tuple[LinkRow, Commitment, ActionPlan]]:
    """Links to a dataset with their commitments and plans: three queries plus the target's."""
    links = list(CommitmentLink.objects.for_target("Dataset", dataset.id).no_dereference())
    commitment_ids = {ref_id(link.commitment) for link in links}
    commitments = {
        c.id: c
        for c in Commitment.objects(id__in=list(commitment_ids)).no_dereference()
        if c.published or admin_permission.can()
    }
    plans = {
        p.id: p
        for p in ActionPlan.objects(id__in=list({ref_id(c.plan) for c in commitments.values()}))
        if p.published or admin_permission.can()
    }
    rows = build_rows(links)
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
    )


@blueprint.route("/datasets/<ident>/links", methods=["POST"])
def dataset_link(ident: str):
    dataset = dataset_or_404(ident)
    back = url_for("ogp.dataset", ident=str(dataset.id))
    commitment = None
    try:
        commitment = Commitment.objects(id=ObjectId(request.form.get("commitment", ""))).first()
    except (InvalidId, TypeError):
        pass
    if commitment is None or not can_read_commitment(commitment):
        flash(_("Choose a commitment."), "error")
        return redirect(back, 303)
    return _form_outcome(
        lambda: create_link(
            commitment, target_class="Dataset", target_id=dataset.id, **_link_form_fields()
        ),
        _("The link was added."),
        back,
    )


def init_app(app) -> None:
    # udata registers its sanitising `markdown` filter in `standalone()`; tests and bare apps
    # may not have run it.
    if "markdown" not in app.jinja_env.filters:
        from udata.frontend.markdown import init_app as init_markdown

        init_markdown(app)
    app.register_blueprint(blueprint)


# Routes of the feed and badge modules join the blueprint at import time: Flask forbids adding
# routes to a blueprint once registered.
from udata_ogp import badges, feeds  # noqa: E402,F401
