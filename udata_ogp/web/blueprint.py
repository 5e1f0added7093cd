"""The /ogp/ blueprint and what every page shares: language, template context, errors, look-ups.

Below the other modules of `udata_ogp.web`, which add their routes to `blueprint` at import time
(Flask forbids adding routes once the blueprint is registered: `udata_ogp.load_routes()` imports
them all before `udata_ogp.init_app` calls `init_app` here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from bson import ObjectId
from bson.errors import InvalidId
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    render_template,
    request,
    url_for,
)
from flask_babel import format_date, refresh
from markupsafe import Markup
from udata.auth import current_user
from udata.i18n import gettext as _
from udata.i18n import lazy_gettext as L_
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import BuildError

from udata_ogp import textrules
from udata_ogp.constants import (
    COMPLETION,
    HEALTH,
    LANG_COOKIE,
    LANGS,
    LINK_ROLES,
    OGP_VALUES,
    PLAN_STATUS,
    ogp_term,
)
from udata_ogp.errors import OgpError
from udata_ogp.models import ActionPlan, Commitment, CommitmentLink, localized
from udata_ogp.permissions import (
    can_read_commitment,
    can_read_plan,
    can_read_target,
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
    "archived:not-on-remote": L_("archived: its harvested source no longer publishes it"),
    "overdue": L_("update overdue"),
    "overdue_promised": L_("update overdue against the promised frequency"),
    "resources_unavailable": L_("resources unavailable"),
    "no_resources": L_("no resources"),
    "private": L_("made private"),
    "gone": L_("no longer exists"),
}

# The page forms' fields as visitors read them: the `<label>`s and the errors' wording, so that an
# error never names a field by its internal name. Unknown fields are shown by their name.
FIELD_LABELS = {
    "target": L_("Dataset or reuse"),
    "commitment": L_("Commitment"),
    "role": L_("Role"),
    "milestone": L_("Milestone served (optional)"),
    "note": L_("Why is it linked?"),
    "status": L_("New status"),
    "rationale": L_("Rationale"),
    "evidence_url": L_("Evidence URL (optional)"),
    "reason": L_("Why (optional)"),
}

# Errors' parameters that carry a code, and the vocabulary that names it (`OgpError.params`).
PARAM_VOCABULARIES = {
    "role": LINK_ROLES,
    "roles": LINK_ROLES,
    "status": COMPLETION,
    "statuses": COMPLETION,
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


def _page_address() -> tuple[str, dict[str, list[str]]]:
    """Path and query arguments of the page being shown, as a GET reaches it.

    A page rendered from a POST (a form's error, a 404 of a form) is shown at the form's
    address, which answers POST only. Every page form names the page it belongs to in its
    `next` field (the `csrf_field` macro), so that is the page's address then.
    """
    shown_as = g.get("ogp_page_path")  # set by a form handler (`show_as_page`)
    if shown_as:
        parts = urlsplit(shown_as)
        return parts.path, parse_qs(parts.query, keep_blank_values=True)
    if request.method in ("GET", "HEAD"):
        return request.path, request.args.to_dict(flat=False)
    parts = urlsplit(back_to(url_for("ogp.index")))
    return parts.path, parse_qs(parts.query, keep_blank_values=True)


def page_path() -> str:
    """The page's GET address (path and query): where links back to this page lead."""
    path, args = _page_address()
    return f"{path}?{urlencode(args, doseq=True)}" if args else path


def show_as_page(path: str) -> None:
    """What this request renders is shown as the page at `path` (a form's POST, its GET page)."""
    g.ogp_page_path = path


def lang_url(lang: str) -> str:
    """This page in another language (the other query arguments kept)."""
    path, args = _page_address()
    args["lang"] = [lang]
    return f"{path}?{urlencode(args, doseq=True)}"


def page_url_with(**changes: Any) -> str:
    path, args = _page_address()
    args.update({key: [str(value)] for key, value in changes.items() if value is not None})
    return f"{path}?{urlencode(args, doseq=True)}"


def _dsfr_available() -> bool:
    return (STATIC_DIR / "dsfr" / "dsfr.min.css").is_file()


def field_label(name: str) -> str:
    return str(FIELD_LABELS[name]) if name in FIELD_LABELS else name


class _Shown(str):
    """A value as a page words it; `%r` in a message quotes it as prose does."""

    def __repr__(self) -> str:
        return f"“{self}”"


def _shown_value(name: str, value: Any) -> Any:
    """An error's parameter on a page: a field by its label, a code by its label."""
    if name == "field" and isinstance(value, str):
        return _Shown(field_label(value))
    vocabulary = PARAM_VOCABULARIES.get(name)
    if vocabulary is not None and isinstance(value, str) and value in vocabulary:
        return _Shown(vocabulary[value])
    return value  # what the visitor typed, quoted as sent


def _worded(message: str, name: str, label: str) -> str:
    """A message that names a field by its internal name (`note: …`, `'note'`), by its label."""
    message = message.removeprefix(f"{name}: ")
    for quoted in (f"'{name}'", f'"{name}"', f"`{name}`", f"“{name}”"):
        message = message.replace(quoted, f"“{label}”")
    return message


@dataclass
class FormErrors:
    """A page form sent back after a broken rule: shown again at its page, values kept.

    `form` prefixes its fields' ids (`link-role`); `errors` maps a field of the form (None: the
    whole form) to its message worded with labels.
    """

    form: str
    values: Any
    fields: tuple[str, ...]
    errors: dict[str | None, str] = field(default_factory=dict)
    # Set when the page showed the summary: a page may not show the form (to whom may not use it).
    shown: bool = False

    @classmethod
    def of(
        cls,
        error: OgpError,
        *,
        form: str,
        values: Any,
        fields: tuple[str, ...],
        aliases: dict[str, str] | None = None,
    ) -> FormErrors:
        """`aliases` maps the rules' names of a field (`element.id`) to the form's (`target`)."""
        message = error.format(_shown_value)
        name = None
        if error.field:
            path = error.field
            name = (aliases or {}).get(path.split(".")[0], path.split(".")[0])
            message = _worded(message, path, field_label(name))
            if name != path:
                message = _worded(message, name, field_label(name))
        return cls(form, values, fields, {name: message})

    def error(self, form: str, name: str) -> str | None:
        return self.errors.get(name) if form == self.form and name in self.fields else None

    def value(self, form: str, name: str, default: Any = "") -> Any:
        return self.values.get(name, "") if form == self.form else default

    def summary(self) -> list[tuple[str | None, str | None, str]]:
        """Each error as `(field id, field label, message)`; no id when not on the form."""
        self.shown = True
        return [
            (
                f"{self.form}-{name}" if name in self.fields else None,
                field_label(name) if name else None,
                message,
            )
            for name, message in self.errors.items()
        ]


def form_state() -> FormErrors | None:
    return g.get("ogp_form")


def _field_attrs(form: str, name: str) -> Markup:
    """`id` and `name` of a form control, and when it is at fault what ties it to its error."""
    attrs = Markup('id="{0}-{1}" name="{1}"').format(form, name)
    state = form_state()
    if state is not None and state.error(form, name):
        attrs += Markup(' aria-invalid="true" aria-describedby="{0}-{1}-error"').format(form, name)
    return attrs


def _form_value(form: str, name: str, default: Any = "") -> Any:
    state = form_state()
    return default if state is None else state.value(form, name, default)


def label(mapping: dict, key: Any, default: str | None = None) -> str:
    if key in mapping:
        return str(mapping[key])
    return default if default is not None else (str(key) if key else _("Unknown"))


def reason_label(reason: str) -> str:
    """A reason (`code` or `code:detail`) as visitors read it; unknown ones verbatim."""
    if reason in REASON_LABELS:
        return str(REASON_LABELS[reason])
    code, _, detail = reason.partition(":")
    if code == "archived" and detail:
        return _("archived by udata's harvester (%(reason)s)", reason=detail)
    return reason


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


def _with_next(url: str) -> str:
    """`url` with `next=` this page's GET address added to its own query arguments."""
    parts = urlsplit(url)
    args = parse_qs(parts.query, keep_blank_values=True)
    args["next"] = [page_path()]
    return urlunsplit(parts._replace(query=urlencode(args, doseq=True)))


def _udata_url(endpoint: str) -> str | None:
    try:
        return url_for(endpoint)
    except BuildError:  # an app without Flask-Security's views
        return None


def login_url() -> str | None:
    """The portal's sign-in page (`OGP_LOGIN_URL`, else udata's), back to this page after."""
    url = current_app.config.get("OGP_LOGIN_URL") or _udata_url("security.login")
    return _with_next(url) if url else None


def logout_url() -> str | None:
    url = _udata_url("security.logout")
    return _with_next(url) if url else None


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
        "login_url": login_url(),
        "logout_url": logout_url(),
        "page_path": page_path,
        "lang": lang,
        "other_lang": "en" if lang == "fr" else "fr",
        "lang_url": lang_url,
        "page_url_with": page_url_with,
        "loc": lambda obj, name: localized(obj, name, lang),
        "ogp_term": lambda value: ogp_term(value, lang),
        "label": label,
        "field_label": field_label,
        "field_attrs": _field_attrs,
        "form_value": _form_value,
        "form_state": form_state(),
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
    try:
        target = request.form.get("next") or ""
    except RequestEntityTooLarge:  # the guard refused the body: it cannot name the page either
        return default
    if (
        target.startswith("/ogp/")
        and "//" not in target
        and "\\" not in target
        and target.isprintable()  # the guard's 400 page is rendered with this `next` too
    ):
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


def link_or_404(link_id: str) -> CommitmentLink:
    """A link of a commitment the visitor may read; the same 404 for a missing one.

    Form handlers redirect to the link's commitment page: answering differently for a draft's
    link would tell its slug to anyone holding a link id.
    """
    link = None
    try:
        link = CommitmentLink.objects(id=ObjectId(link_id)).first()
    except (InvalidId, TypeError):
        pass
    if link is None or not can_read_commitment(link.commitment):
        abort(404)
    return link


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
    if (dataset.deleted or dataset.private) and not can_read_target(dataset):
        abort(404)
    return dataset


def _keep_plugin_404s(app) -> None:
    """Let the pages' own 404 page through udata's app-wide swap of HTML 404s.

    udata's `return_404_html_if_requested` (an `after_request` hook of the app, which Flask runs
    after the blueprint's) replaces any 404 with its bare `404.html` when the client prefers
    `text/html`, as every browser does. It is wrapped, not removed: 404s outside /ogp/ (its API
    included) still get udata's page.
    """
    from udata.app import return_404_html_if_requested

    def udata_404_outside_ogp(response: Response) -> Response:
        if request.blueprint == blueprint.name:
            return response
        return return_404_html_if_requested(response)

    hooks = app.after_request_funcs.get(None, [])
    app.after_request_funcs[None] = [
        udata_404_outside_ogp if hook is return_404_html_if_requested else hook for hook in hooks
    ]


def init_app(app) -> None:
    _keep_plugin_404s(app)
    # udata registers its sanitising `markdown` filter in `standalone()`; tests and bare apps
    # may not have run it.
    if "markdown" not in app.jinja_env.filters:
        from udata.frontend.markdown import init_app as init_markdown

        init_markdown(app)
    app.register_blueprint(blueprint)
