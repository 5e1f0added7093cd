"""Test tooling: picks the database backend and starts SecantusDB when asked to.

`OGP_TEST_DB` selects the backend:
- unset or `mongomock`: the embedded in-process emulation (default);
- `secantus`: a SecantusDB wire-protocol server started here on a free 127.0.0.1 port;
- a `mongodb://host:port/db` URL: a server someone else runs (real MongoDB in production CI).
"""

from __future__ import annotations

import os

import pytest

# API namespaces must exist before any test app registers udata's API blueprint.
import udata_ogp
from tests.servers import installed_script, start_secantus, stop

udata_ogp.load_routes()

BACKEND = os.environ.get("OGP_TEST_DB", "mongomock")


# Fields udata looks up by regular expression: Flask-Security finds the user signing in by a
# case-insensitive match of the e-mail (`email__iexact`). SecantusDB 0.7.0b3 matches no BSON
# regular expression on an indexed field (the `$regex` operator works), so on it a sign-in finds
# no user while the index exists.
REGEX_LOOKUPS = {"User": {"email"}}


def _strip_unsupported_indexes() -> None:
    """SecantusDB rejects text indexes and indexes over GenericReferenceField values.

    udata's own models declare some; the plugin declares none. Drop them from the specs before
    `ensure_indexes` runs so that udata's factories can save. Also drop the indexes of the
    fields in `REGEX_LOOKUPS`, which SecantusDB would answer wrongly.
    """
    from mongoengine.base import _document_registry
    from mongoengine.fields import GenericReferenceField

    for cls in list(_document_registry.values()):
        specs = cls._meta.get("index_specs")
        if not specs:
            continue
        generic = {
            name for name, fld in cls._fields.items() if isinstance(fld, GenericReferenceField)
        }
        regex = REGEX_LOOKUPS.get(cls.__name__, set())
        cls._meta["index_specs"] = [
            spec
            for spec in specs
            if not any(
                direction == "text" or key.split(".")[0] in generic
                for key, direction in spec["fields"]
            )
            and spec["fields"][0][0] not in regex
        ]


def pytest_configure(config):
    from udata import settings

    if BACKEND == "mongomock":
        return
    if BACKEND == "secantus":
        if not installed_script("secantusd-py"):
            raise pytest.UsageError("OGP_TEST_DB=secantus needs `pip install secantusdb`")
        config._ogp_secantus, url = start_secantus()
    else:
        url = BACKEND
    os.environ["OGP_TEST_DB_URL"] = url
    settings.Testing.MONGODB_HOST_TEST = url


def pytest_unconfigure(config):
    stop(getattr(config, "_ogp_secantus", None))


def pytest_collection_modifyitems(session, config, items):
    if BACKEND != "mongomock":
        _strip_unsupported_indexes()


def pytest_report_header(config):
    return f"udata-ogp database backend: {os.environ.get('OGP_TEST_DB_URL', BACKEND)}"
