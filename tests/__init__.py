"""Base classes: udata's own test cases, with the plugin initialised and the selected backend."""

from __future__ import annotations

import os

import pytest
from udata import settings
from udata.tests.api import PytestOnlyAPITestCase, PytestOnlyDBTestCase

import udata_ogp
from udata_ogp.embedded import mongomock_settings, server_settings

# What Chromium sends for a page: udata answers HTML 404s differently when the client prefers
# text/html, so page tests send this rather than the test client's bare default.
BROWSER_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8",
    "Accept-Language": "fr-FR,fr;q=0.9,en;q=0.8",
}


def ogp_test_settings() -> type:
    url = os.environ.get("OGP_TEST_DB_URL")
    db = (
        server_settings(url)
        if url
        else mongomock_settings("mongodb://localhost:27017/udata-ogp-test")
    )
    return type("OgpTesting", (settings.Testing,), db)


class _OgpMixin:
    def get_settings(self, request):
        return ogp_test_settings()

    @pytest.fixture(autouse=True)
    def _init_ogp(self, app):
        udata_ogp.init_app(app)


class OgpDBTestCase(_OgpMixin, PytestOnlyDBTestCase):
    """Models, import/export, tasks: udata's app and database, plugin initialised."""


class OgpAPITestCase(_OgpMixin, PytestOnlyAPITestCase):
    """API and pages: adds udata's test client, login helpers and API keys."""
