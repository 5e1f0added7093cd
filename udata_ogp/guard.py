"""What every request to the plugin's routes must pass before anything reads it.

Registered first among the app's `before_request` hooks by `udata_ogp.init_app`, for the pages
under /ogp/ and the API endpoints `api.ogp_*` only:

- a body larger than `OGP_MAX_REQUEST_BYTES` is refused with 413 (also a chunked body with no
  Content-Length: Werkzeug stops reading at the limit);
- a JSON body nested deeper than `textrules.MAX_JSON_DEPTH` is refused before any parser
  recurses into it (Flask-Security parses JSON bodies for an auth token as soon as the user is
  looked up, and json's parser would raise a RecursionError: a 500). The body's content is
  then checked by whoever reads it, with `textrules.loads` (API bodies, imports), where the
  place at fault can be named;
- `next` (where a page form goes back to) must be one line of printable text. The other form
  fields are checked by the models' text rules when the action validates what it writes
  (`actions.checked`), so that the page shows the error at its field.

Refusals are the plugin's errors (`udata_ogp.errors`): the API answers them in JSON with the
field in `errors`, the pages with their error page.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, json, request
from flask_babel import force_locale
from udata.i18n import gettext as _

from udata_ogp import textrules
from udata_ogp.constants import LANG_COOKIE, LANGS
from udata_ogp.errors import TooLarge, invalid_field


class DepthCheckedJSON:
    """What `request.get_json()` parses with on the plugin's routes: too deep a body is a
    ValueError, which `get_json(silent=True)` (Flask-Security's token look-up, run as soon as
    anything asks for the user, a translated message included) turns into "no JSON"."""

    @staticmethod
    def loads(data: str | bytes, **kwargs: Any) -> Any:
        # Not translated: translating looks the user up, which parses the body again.
        if textrules.json_depth(data) > textrules.MAX_JSON_DEPTH:
            raise ValueError("JSON nested too deep")
        return json.loads(data, **kwargs)

    @staticmethod
    def dumps(obj: Any, **kwargs: Any) -> str:
        return json.dumps(obj, **kwargs)


def is_plugin_route() -> bool:
    endpoint = request.endpoint or ""
    return request.blueprint == "ogp" or endpoint.startswith("api.ogp_")


def _request_language():
    """The language of the guard's messages, chosen without looking the user up: udata's
    default locale does, and looking the user up reads the body (Flask-Security searches a
    JSON body for a token), the very thing the guard must check first. `?lang=`, then the
    pages' language cookie, then the portal's default."""
    lang = request.args.get("lang") or request.cookies.get(LANG_COOKIE)
    if lang not in LANGS:
        lang = current_app.config.get("DEFAULT_LANGUAGE") or "fr"
    return force_locale(lang)


def guard_request() -> None:
    if not is_plugin_route():
        return
    maximum = int(current_app.config["OGP_MAX_REQUEST_BYTES"])
    request.max_content_length = maximum
    request.json_module = DepthCheckedJSON
    if request.content_length is not None and request.content_length > maximum:
        with _request_language():
            message = _("The request is larger than the %(limit)s bytes allowed.", limit=maximum)
        raise TooLarge(message, field="body")
    with _request_language():
        if request.is_json:
            try:
                textrules.check_depth(request.get_data(cache=True))
            except textrules.TextError as error:
                raise invalid_field(error.field or "body", error.message) from None
        elif request.blueprint == "ogp" and request.method == "POST":
            for value in request.form.getlist("next"):
                message = textrules.problem(value, "url")
                if message is not None:
                    raise invalid_field("next", message)


def init_app(app) -> None:
    # First: udata's and Flask-Security's hooks may read the body or look the user up.
    hooks = app.before_request_funcs.setdefault(None, [])
    if guard_request not in hooks:
        hooks.insert(0, guard_request)
