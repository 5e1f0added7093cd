"""Test tooling: picks the database backend and starts SecantusDB when asked to.

`OGP_TEST_DB` selects the backend:
- unset or `mongomock`: the embedded in-process emulation (default);
- `secantus`: a SecantusDB wire-protocol server started here on a free 127.0.0.1 port;
- a `mongodb://host:port/db` URL: a server someone else runs (real MongoDB in production CI).
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

# API namespaces must exist before any test app registers udata's API blueprint.
import udata_ogp.api  # noqa: F401
import udata_ogp.views  # noqa: F401
from tests.servers import _free_port, _wait_for_port

BACKEND = os.environ.get("OGP_TEST_DB", "mongomock")


def _strip_unsupported_indexes() -> None:
    """SecantusDB rejects text indexes and indexes over GenericReferenceField values.

    udata's own models declare some; the plugin declares none. Drop them from the specs before
    `ensure_indexes` runs so that udata's factories can save.
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
        cls._meta["index_specs"] = [
            spec
            for spec in specs
            if not any(
                direction == "text" or key.split(".")[0] in generic
                for key, direction in spec["fields"]
            )
        ]


def pytest_configure(config):
    from udata import settings

    if BACKEND == "mongomock":
        return
    if BACKEND == "secantus":
        if not shutil.which("secantusd-py"):
            raise pytest.UsageError("OGP_TEST_DB=secantus needs `pip install secantusdb`")
        port = _free_port()
        proc = subprocess.Popen(
            [
                "secantusd-py",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--storage-path",
                ":memory:",
                "--log-level",
                "WARNING",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        config._ogp_secantus = proc
        _wait_for_port(port)
        url = f"mongodb://127.0.0.1:{port}/udata-ogp-test"
    else:
        url = BACKEND
    os.environ["OGP_TEST_DB_URL"] = url
    settings.Testing.MONGODB_HOST_TEST = url


def pytest_unconfigure(config):
    proc = getattr(config, "_ogp_secantus", None)
    if proc is not None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def pytest_collection_modifyitems(session, config, items):
    if BACKEND != "mongomock":
        _strip_unsupported_indexes()


def pytest_report_header(config):
    return f"udata-ogp database backend: {os.environ.get('OGP_TEST_DB_URL', BACKEND)}"
