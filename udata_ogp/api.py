"""REST API under /api/1/ogp/ (filled by the API issue)."""

from udata.api import api

ns = api.namespace("ogp", "Open Government Partnership action plans")
