"""udata-ogp: track a government's Open Government Partnership action plans on a udata portal."""

from __future__ import annotations

from udata_ogp.textrules import LIMITS as TEXT_LIMITS

__version__ = "0.1.0.dev0"
__description__ = "Open Government Partnership action plans tracker for udata portals"

DEFAULTS: dict[str, object] = {
    # Days a link may fail before its health flips (hysteresis, see udata_ogp.health.rules).
    "OGP_HEALTH_GRACE_DAYS": 2,
    # Consecutive failed checks needed before a link leaves "ok".
    "OGP_HEALTH_FAILURES_BEFORE_FLAG": 2,
    # Days before its due date an unmet deliverable is "at risk" (udata_ogp.delivery.rules).
    "OGP_DELIVERY_AT_RISK_DAYS": 60,
    # The plugin's own URL probe of resources, for portals without udata-hydra.
    "OGP_URL_PROBE": False,
    "OGP_URL_PROBE_TIMEOUT": 10,
    "OGP_URL_PROBE_CONCURRENCY": 8,
    "OGP_URL_PROBE_PER_HOST": 2,
    # Size of the read batches and Celery fan-out of the link sweep.
    "OGP_SWEEP_BATCH_SIZE": 1000,
    # Opt-in e-mail digests of health changes.
    "OGP_NOTICES": False,
    # Links per Celery sub-task of the sweep; 0 sweeps in one task (see udata_ogp.tasks).
    "OGP_SWEEP_FANOUT": 0,
    # Where the pages' sign-in link leads (`next=` the page added): a portal whose front end is
    # cdata signs people in there; None is udata's own login page.
    "OGP_LOGIN_URL": None,
    # Seconds an import holds its plan's claim at most: a crashed import blocks it no longer.
    "OGP_IMPORT_CLAIM_SECONDS": 600,
    # Who may frame the /ogp/ pages (CSP `frame-ancestors` sources): only the portal for now;
    # a portal that embeds them elsewhere lists those origins here.
    "OGP_FRAME_ANCESTORS": "'self'",
    # Links from the pages to other sites tell them the portal, never the page's query string.
    "OGP_REFERRER_POLICY": "strict-origin-when-cross-origin",
    # Largest request body the plugin's pages and API endpoints read (413 beyond): a plan file
    # is a few hundred kB; nothing legitimate comes near 5 MiB.
    "OGP_MAX_REQUEST_BYTES": 5 * 1024 * 1024,
    # Longest texts accepted, by kind (titles, notes, URLs, ...): the numbers are with the
    # text rules they belong to, in udata_ogp.textrules.
    **TEXT_LIMITS,
}


def load_routes() -> None:
    """Import every module that adds routes: API resources join udata's API, pages the blueprint.

    Must run before udata registers its API blueprint and before the pages' blueprint is
    registered (Flask forbids adding routes afterwards); importing twice changes nothing.
    """
    from udata_ogp.api import commitments, deliverables, links, plans, proposals, transfer  # noqa: F401
    from udata_ogp.web import badges, feeds, forms, pages, review  # noqa: F401


def init_app(app) -> None:
    """Entry point `udata.plugins`: called by udata's `standalone()` for every installed plugin."""
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)

    load_routes()
    from udata_ogp import signals  # noqa: F401  (receivers of udata's signals)
    from udata_ogp.commands import grp
    from udata_ogp.guard import init_app as init_guard
    from udata_ogp.web.blueprint import init_app as init_web
    from udata_ogp.web.headers import init_app as init_headers

    init_guard(app)
    init_web(app)
    init_headers(app)
    if "ogp" not in app.cli.commands:
        app.cli.add_command(grp)
