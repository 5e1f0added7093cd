"""The canonical document as CSV: one row per commitment. Pure code, no database access.

Columns are the canonical field names; plan fields are prefixed `plan.` and filled on the first
row only. Lists and objects (milestones, sub-commitments, IRM, deliverables, ...) are JSON in their
cell, so that the CSV holds exactly what the JSON holds. Milestones may instead come from a
separate CSV (one row per milestone, column `commitment` = commitment number).
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from mongoengine.fields import BooleanField, IntField, StringField

from udata_ogp import textrules
from udata_ogp.models import ActionPlan, Commitment, Milestone
from udata_ogp.plans import document as pf

PLAN_PREFIX = "plan."
# A commitment's deliverables are their own documents: one JSON cell, after its own fields.
COMMITMENT_COLUMNS = [*pf.COMMITMENT_FIELDS, "deliverables"]
COLUMNS = [PLAN_PREFIX + name for name in pf.PLAN_FIELDS] + COMMITMENT_COLUMNS
MILESTONE_COLUMNS = ["commitment"] + list(pf.MILESTONE_FIELDS)

# A cell the export writes must read back, however long (a commitment's milestones as JSON):
# the reader's default limit (128 kB) is far below what a plan may hold. Process-wide, only
# ever raised; 2**31 - 1 is the largest value every platform's C long takes.
CELL_SIZE_LIMIT = 2**31 - 1

# Cells a spreadsheet would run as a formula start with one of these. The export writes them
# after a `'` (the spreadsheets' own "this is text" mark), and the import removes exactly that
# one `'`: a cell already starting with `'` + one of them gets a second one, so that the round
# trip gives back every value unchanged.
_FORMULA = re.compile(r"'*[=+\-@\t\r]")


def _kind(model, name: str) -> str:
    fld = model._fields[name]
    if isinstance(fld, BooleanField):
        return "bool"
    if isinstance(fld, IntField):
        return "int"
    if isinstance(fld, StringField):
        return "str"
    return "json"


PLAN_KINDS = {name: _kind(ActionPlan, name) for name in pf.PLAN_FIELDS}
COMMITMENT_KINDS = {name: _kind(Commitment, name) for name in pf.COMMITMENT_FIELDS}
COMMITMENT_KINDS["deliverables"] = "json"
MILESTONE_KINDS = {name: _kind(Milestone, name) for name in pf.MILESTONE_FIELDS}


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def neutralise(text: str) -> str:
    """A cell no spreadsheet runs as a formula (see `_FORMULA`); `restore` undoes it."""
    return f"'{text}" if _FORMULA.match(text) else text


def restore(text: str) -> str:
    return text[1:] if text.startswith("'") and _FORMULA.match(text[1:]) else text


def _cell(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "bool":
        return "true" if value else "false"
    if kind == "json":
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return neutralise(str(value))


def to_csv(doc: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    # The writer quotes a cell holding LF but not one holding a lone CR (only the line
    # terminator's characters count), which no reader reads back: such rows are all quoted.
    quoting = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(COLUMNS)
    plan_cells = [_cell(doc["plan"].get(name), PLAN_KINDS[name]) for name in pf.PLAN_FIELDS]
    rows = doc["commitments"] or [{}]
    for index, commitment in enumerate(rows):
        cells = plan_cells if index == 0 else [""] * len(plan_cells)
        cells = cells + [
            _cell(commitment.get(name), COMMITMENT_KINDS[name]) for name in COMMITMENT_COLUMNS
        ]
        (quoting if any("\r" in cell for cell in cells) else writer).writerow(cells)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


def _parse_object(
    values: dict[str, str],
    kinds: dict[str, str],
    row: str,
    base: str,
    origins: dict[str, str],
    problems: list[pf.Problem],
) -> dict[str, Any]:
    """The non-empty cells of one row as an object, each cell's place recorded under `base`."""
    obj: dict[str, Any] = {}
    for name, kind in kinds.items():
        where = f"{row}, column {name}"
        origins[f"{base}/{name}"] = where
        value = _parse_cell(values.get(name, ""), kind, where, problems)
        if value is not None:
            obj[name] = value
    origins[base] = row
    return obj


def _parse_cell(text: str, kind: str, where: str, problems: list[pf.Problem]) -> Any:
    if text == "":
        return None
    text = restore(text)
    if kind == "int":
        try:
            return int(text)
        except ValueError:
            problems.append(pf.Problem(where, f"expected an integer, got {text!r}"))
            return None
    if kind == "bool":
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        problems.append(pf.Problem(where, f"expected true or false, got {text!r}"))
        return None
    if kind == "json":
        try:
            return textrules.loads(text)
        except textrules.TextError as error:
            if getattr(error, "reason", None):  # malformed: the cell is the place
                problems.append(pf.Problem(where, f"invalid JSON in the cell: {error.reason}"))
            else:
                problems.append(pf.json_problem(error, where))
            return None
    return text


def _rows(text: str, label: str, problems: list[pf.Problem]):
    """(line number, header, cells) of each data row; a row may span lines (quoted newlines)."""
    csv.field_size_limit(max(csv.field_size_limit(), CELL_SIZE_LIMIT))
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        problems.append(pf.Problem(f"{label}line 1", "empty CSV file"))
        return None, []
    rows = []
    line = reader.line_num + 1
    try:
        for cells in reader:
            rows.append((line, cells))
            line = reader.line_num + 1
    except csv.Error as exc:
        problems.append(pf.Problem(f"{label}line {line}", f"invalid CSV: {exc}"))
    return header, rows


def _check_header(
    header: list[str], known: list[str], required: list[str], label: str
) -> list[pf.Problem]:
    problems = []
    for position, name in enumerate(header, start=1):
        if name not in known:
            problems.append(
                pf.Problem(f"{label}line 1, column {position}", f"unknown column {name!r}")
            )
    if len(set(header)) != len(header):
        problems.append(pf.Problem(f"{label}line 1", "duplicate column names"))
    for name in required:
        if name not in header:
            problems.append(pf.Problem(f"{label}line 1", f"missing column {name!r}"))
    return problems


def load_csv(
    content: bytes | str,
    *,
    milestones_csv: bytes | str | None = None,
    links_csv: bytes | str | None = None,
) -> pf.Normalised:
    """Parse, normalise and validate a CSV plan; raises pf.ProblemList."""
    problems: list[pf.Problem] = []
    if links_csv is not None:
        problems.append(
            pf.Problem(
                "links file",
                "a links CSV is not supported: links are made from the data.gouv.fr URLs of "
                "the commitments",
            )
        )
    header, rows = _rows(pf.decode(content), "", problems)
    if header is None:
        raise pf.ProblemList(problems)
    problems += _check_header(
        header, COLUMNS, ["plan.country", "plan.title", "number", "title"], ""
    )
    if problems:
        raise pf.ProblemList(problems)

    origins: dict[str, str] = {}
    plan: dict[str, Any] = {}
    commitments: list[dict] = []
    for row_index, (line, cells) in enumerate(rows):
        if not any(cells):
            continue  # blank line
        if len(cells) != len(header):
            problems.append(
                pf.Problem(f"line {line}", f"{len(cells)} cells for {len(header)} columns")
            )
            continue
        values = dict(zip(header, cells, strict=True))
        for name in pf.PLAN_FIELDS:
            column = PLAN_PREFIX + name
            where = f"line {line}, column {column}"
            text = values.get(column, "")
            if row_index == 0:
                value = _parse_cell(text, PLAN_KINDS[name], where, problems)
                if value is not None:
                    plan[name] = value
                origins[pf.pointer("plan", name)] = where
            elif text != "":
                value = _parse_cell(text, PLAN_KINDS[name], where, problems)
                if value != plan.get(name):
                    problems.append(
                        pf.Problem(
                            where, "differs from the first row (plan columns describe one plan)"
                        )
                    )
        base = pf.pointer("commitments", len(commitments))
        commitment = _parse_object(
            values, COMMITMENT_KINDS, f"line {line}", base, origins, problems
        )
        if commitment:  # a row with only plan columns describes a plan with no commitment
            commitments.append(commitment)
    origins["/plan"] = "line 2"

    if milestones_csv is not None:
        _merge_milestones(milestones_csv, commitments, origins, problems)
    normalised = pf.Normalised(
        doc={"format": pf.FORMAT, "plan": plan, "commitments": commitments}, origins=origins
    )
    # Cells already refused are left out of the document: do not report them twice.
    refused = {problem.pointer for problem in problems}
    problems += [p for p in pf.validate(normalised) if p.pointer not in refused]
    if problems:
        raise pf.ProblemList(problems)
    return normalised


def _merge_milestones(
    content: bytes | str, commitments: list[dict], origins: dict, problems: list[pf.Problem]
) -> None:
    label = "milestones file, "
    try:
        text = pf.decode(content, label)
    except pf.ProblemList as exc:
        problems += exc.problems
        return
    header, rows = _rows(text, label, problems)
    if header is None:
        return
    header_problems = _check_header(
        header, MILESTONE_COLUMNS, ["commitment", "number", "title"], label
    )
    if header_problems:
        problems += header_problems
        return
    index_of = {c.get("number"): i for i, c in enumerate(commitments)}
    for line, cells in rows:
        if not any(cells):
            continue
        if len(cells) != len(header):
            problems.append(
                pf.Problem(f"{label}line {line}", f"{len(cells)} cells for {len(header)} columns")
            )
            continue
        values = dict(zip(header, cells, strict=True))
        where = f"{label}line {line}, column commitment"
        number = _parse_cell(values["commitment"], "int", where, problems)
        if number not in index_of:
            problems.append(pf.Problem(where, f"no commitment number {values['commitment']!r}"))
            continue
        i = index_of[number]
        milestones = commitments[i].setdefault("milestones", [])
        base = pf.pointer("commitments", i, "milestones", len(milestones))
        milestones.append(
            _parse_object(values, MILESTONE_KINDS, f"{label}line {line}", base, origins, problems)
        )
