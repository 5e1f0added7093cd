"""Query-string parsers of the OGP API: pagination, filters and sorts, validated to a 400.

Every argument is typed, so a bad value is answered with 400 and the argument's name in
`errors` (flask-restx does that for a `ValueError` raised by an argument type).
"""

from __future__ import annotations

from bson import ObjectId
from flask_restx.inputs import boolean
from flask_restx.reqparse import RequestParser
from udata.api import api
from werkzeug.datastructures import FileStorage

from udata_ogp.constants import (
    COMPLETION,
    DISCREPANCIES,
    HEALTH,
    LINK_ROLES,
    OGP_VALUES,
    PLAN_STATUS,
    VERIFICATION_SUMMARIES,
)

__all__ = (
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "commitment_parser",
    "export_parser",
    "import_parser",
    "link_parser",
    "plan_parser",
)

DEFAULT_PAGE_SIZE = 20
# Larger pages are refused (400), not clamped: a client asking for 1000 items and silently
# getting 100 would believe it has them all.
MAX_PAGE_SIZE = 100


def _bounded_int(name: str, high: int, subject: str, not_a_number: str = "a positive integer"):
    """A query-string type for an integer from 1 to `high`, with its OpenAPI schema."""
    out_of_range = f"{subject} an integer from 1 to {high}"

    def parse(value) -> int:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"{subject} {not_a_number}") from None
        if not 1 <= number <= high:
            raise ValueError(out_of_range)
        return number

    parse.__name__ = name
    parse.__schema__ = {"type": "integer", "minimum": 1, "maximum": high}
    return parse


page_size = _bounded_int(
    "page_size", MAX_PAGE_SIZE, "page_size must be", f"an integer from 1 to {MAX_PAGE_SIZE}"
)
# A huge page number reaches Mongo as a `skip` overflowing 64 bits: refuse it here.
page_number = _bounded_int("page_number", 100_000, "page must be")


def object_id(value) -> str:
    if not ObjectId.is_valid(str(value)):
        raise ValueError(f"{value!r} is not a valid id")
    return str(value)


object_id.__schema__ = {"type": "string", "pattern": "^[0-9a-fA-F]{24}$"}


positive_int = _bounded_int("positive_int", 10_000, "expected")


def _sorts(*keys: str) -> list[str]:
    return [*keys, *(f"-{key}" for key in keys)]


def _paginated() -> RequestParser:
    parser = api.parser()
    parser.add_argument("page", type=page_number, default=1, location="args", help="Page (from 1)")
    parser.add_argument(
        "page_size",
        type=page_size,
        default=DEFAULT_PAGE_SIZE,
        location="args",
        help=f"Page size, at most {MAX_PAGE_SIZE} (a larger one is refused with 400)",
    )
    return parser


PLAN_SORTS = {"start": "start", "title": "title", "created": "created_at"}

plan_parser = _paginated()
plan_parser.add_argument("country", type=str, location="args", help="OGP member code, e.g. FR")
plan_parser.add_argument("cycle", type=str, location="args", help="OGP cycle, e.g. 2018-2020")
plan_parser.add_argument("status", type=str, location="args", choices=list(PLAN_STATUS))
plan_parser.add_argument(
    "published", type=boolean, location="args", help="false lists the drafts you may edit"
)
plan_parser.add_argument("sort", type=str, location="args", choices=_sorts(*PLAN_SORTS))

COMMITMENT_SORTS = {
    "number": "number",
    "title": "title",
    "ogp_id": "ogp_id",
    "status": "status",
    "created": "created_at",
    "last_modified": "last_modified",
}

commitment_parser = _paginated()
commitment_parser.add_argument("plan", type=str, location="args", help="Action plan id or slug")
commitment_parser.add_argument("status", type=str, location="args", choices=list(COMPLETION))
commitment_parser.add_argument("axis", type=positive_int, location="args", help="Axis number")
commitment_parser.add_argument(
    "verification",
    type=str,
    location="args",
    choices=[*VERIFICATION_SUMMARIES, *DISCREPANCIES],
    help="How its deliverables add up (a summary) or disagree with its status (a discrepancy)",
)
commitment_parser.add_argument(
    "lead_institution", type=str, location="args", help="Exact name of a lead institution"
)
commitment_parser.add_argument(
    "policy_area", type=str, location="args", help="Exact name of a policy area"
)
commitment_parser.add_argument("ogp_value", type=str, location="args", choices=list(OGP_VALUES))
commitment_parser.add_argument(
    "health",
    type=str,
    location="args",
    choices=list(HEALTH),
    help="Commitments with at least one link in that health",
)
commitment_parser.add_argument("at_risk", type=boolean, location="args")
commitment_parser.add_argument("published", type=boolean, location="args")
commitment_parser.add_argument(
    "q",
    type=str,
    location="args",
    help="Keywords (prefix match) over titles, OGP id, number and institutions",
)
commitment_parser.add_argument("sort", type=str, location="args", choices=_sorts(*COMMITMENT_SORTS))

link_parser = _paginated()
link_parser.add_argument("dataset", type=object_id, location="args", help="Links to this dataset")
link_parser.add_argument("reuse", type=object_id, location="args", help="Links to this reuse")
link_parser.add_argument(
    "dataservice", type=object_id, location="args", help="Links to this dataservice"
)
link_parser.add_argument("commitment", type=str, location="args", help="Commitment id or slug")
link_parser.add_argument("plan", type=str, location="args", help="Action plan id or slug")
link_parser.add_argument("role", type=str, location="args", choices=list(LINK_ROLES))
link_parser.add_argument("health", type=str, location="args", choices=list(HEALTH))

commitment_links_parser = _paginated()
commitment_links_parser.add_argument("role", type=str, location="args", choices=list(LINK_ROLES))
commitment_links_parser.add_argument("health", type=str, location="args", choices=list(HEALTH))

import_parser = api.parser()
import_parser.add_argument(
    "dry_run", type=boolean, location="args", default=False, help="Validate only, write nothing"
)
import_parser.add_argument(
    "format",
    type=str,
    location="args",
    choices=["json", "csv"],
    help="File format (default: csv for a .csv upload, else json)",
)
import_parser.add_argument(
    "file",
    type=FileStorage,
    location="files",
    help="The plan file; a JSON request body is accepted instead",
)
import_parser.add_argument(
    "milestones", type=FileStorage, location="files", help="Milestones CSV (CSV format only)"
)

export_parser = api.parser()
export_parser.add_argument(
    "format", type=str, location="args", choices=["json", "csv"], default="json"
)
