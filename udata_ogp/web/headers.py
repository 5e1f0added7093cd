"""Security headers of everything the plugin serves: the /ogp/ pages, feeds, badges, exports
and the /api/1/ogp/ API.

One app-wide `after_request` hook (registered by `udata_ogp.init_app`), so that
no route can forget them, error pages and udata's own 404 swap included. Pages get a
Content-Security-Policy without inline scripts (they have none) and with styles, fonts and icons
from the plugin's static folder; every other output (JSON, Atom, SVG, CSV) is a document that
must never run anything, hence `default-src 'none'; sandbox`. Who may frame the pages is the
`OGP_FRAME_ANCESTORS` setting, so that a portal can allow embedding later without code.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, request

__all__ = ("content_security_policy", "init_app", "is_ogp_request")

# Pages: markdown descriptions may show images from anywhere over https, nothing else leaves.
PAGE_POLICY = (
    "default-src 'none'; style-src 'self'; font-src 'self'; img-src 'self' data: https:; "
    "form-action 'self'; base-uri 'none'"
)
# Data (JSON, feeds, badges, exports): never a document that runs or loads anything.
DATA_POLICY = "default-src 'none'; sandbox"
# The X-Frame-Options equivalent of the two CSP `frame-ancestors` values it can express.
LEGACY_FRAME_OPTIONS = {"'self'": "SAMEORIGIN", "'none'": "DENY"}


def is_ogp_request() -> bool:
    """A request for the plugin's pages (under /ogp/) or its API (endpoints `api.ogp_*`)."""
    endpoint = request.endpoint or ""
    return (
        request.path == "/ogp"
        or request.path.startswith("/ogp/")
        or endpoint.startswith(("ogp.", "api.ogp_"))
    )


def frame_ancestors() -> str:
    value = current_app.config.get("OGP_FRAME_ANCESTORS", "'self'")
    return value if isinstance(value, str) else " ".join(value)


def content_security_policy(mimetype: str | None) -> str:
    base = PAGE_POLICY if mimetype == "text/html" else DATA_POLICY
    return f"{base}; frame-ancestors {frame_ancestors()}"


def add_security_headers(response: Response) -> Response:
    if not is_ogp_request():
        return response
    headers = response.headers
    headers["Content-Security-Policy"] = content_security_policy(response.mimetype)
    headers["X-Content-Type-Options"] = "nosniff"
    referrer = current_app.config.get("OGP_REFERRER_POLICY", "strict-origin-when-cross-origin")
    headers["Referrer-Policy"] = referrer
    legacy = LEGACY_FRAME_OPTIONS.get(frame_ancestors().strip())
    if legacy:
        headers["X-Frame-Options"] = legacy
    else:
        # Any other list of ancestors has no X-Frame-Options form: browsers that know CSP
        # follow `frame-ancestors`, which overrides X-Frame-Options anyway.
        headers.pop("X-Frame-Options", None)
    return response


def init_app(app: Flask) -> None:
    hooks = app.after_request_funcs.setdefault(None, [])
    if add_security_headers not in hooks:
        # Flask runs these hooks last-registered first: at the head of the list it runs after
        # every other one, so a hook that swaps the response (udata's HTML 404) keeps them.
        hooks.insert(0, add_security_headers)
