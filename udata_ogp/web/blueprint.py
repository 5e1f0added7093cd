"""The /ogp/ blueprint and what every page shares: language, template context, errors, look-ups.

Below the other modules of `udata_ogp.web`, which add their routes to `blueprint` at import time
(Flask forbids adding routes once the blueprint is registered: `udata_ogp.load_routes()` imports
them all before `udata_ogp.init_app` calls `init_app` here).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bson import ObjectId
from bson.errors import InvalidId
from flask import (
    Blueprint,
    Response,
    abort,
    g,
    render_template,
    request,
    url_for,
)
from flask_babel import format_date, refresh
from udata.auth import current_user
from udata.i18n import gettext as _
from udata.i18n import lazy_gettext as L_

from udata_ogp import textrules
from udata_ogp.constants import (
    COMPLETION,
    HEALTH,
    LANG_COOKIE,
    LANGS,
    LINK_ROLES,
    OGP_VALUES,
    PLAN_STATUS,
)
from udata_ogp.errors import OgpError
from udata_ogp.models import ActionPlan, Commitment, localized
from udata_ogp.permissions import (
    can_edit_plan,
    can_edit_target,
    can_read_commitment,
    can_read_plan,
)

PACKAGE_DIR = Path(__file__).resolve().parent.parent
STATIC_DIR = PACKAGE_DIR / "static"

blueprint = Blueprint(
    "ogp",
    __name__,
    url_prefix="/ogp",
    template_folder=str(PACKAGE_DIR / "templates"),
    static_folder=str(STATIC_DIR),
    static_url_path="/static",
)


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


@blueprint.app_template_filter("clean")
def clean_filter(value: Any) -> Any:
    """udata's own texts (a dataset's title) without the characters that are not text."""
    return textrules.clean(value) if isinstance(value, str) else value


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


@blueprint.errorhandler(OgpError)
def _refused(error: OgpError):
    """A refused request (bad field, too large): its message, with its status."""
    return render_template("ogp/error.html", code=error.status, message=error.message), error.status


def user_or_none():
    return current_user._get_current_object() if current_user.is_authenticated else None


def back_to(default: str) -> str:
    """Where to go after a form: the page it came from, when it is one of ours.

    A `next` with a line break or control character never gets here (`udata_ogp.guard`
    answers 400 naming it); one that is not a local path under /ogp/ falls back to `default`.
    """
    target = request.form.get("next") or ""
    if target.startswith("/ogp/") and "//" not in target and "\\" not in target:
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
    cache = g.setdefault("_ogp_plan_edit", {})
    if plan.id not in cache:
        cache[plan.id] = can_edit_plan(plan)
    return cache[plan.id]


def init_app(app) -> None:
    # udata registers its sanitising `markdown` filter in `standalone()`; tests and bare apps
    # may not have run it.
    if "markdown" not in app.jinja_env.filters:
        from udata.frontend.markdown import init_app as init_markdown

        init_markdown(app)
    app.register_blueprint(blueprint)
