"""The plugin's canonical action-plan document, and how the accepted JSON shapes reach it.

Pure code: no database access. Two JSON shapes are accepted (see docs/import-format.md):

- the canonical format written by the exporter, `{"format": "udata-ogp/1", "plan": {...},
  "commitments": [...]}`, whose keys are the model's field names;
- the reference shape of `udata_ogp/data/fr-action-plan-2018-2020.json` (`action_plan`,
  `commitments`, `ogp_<id>` blocks, `metadata`), mapped onto the canonical format here.

Every problem is reported against the place in the *input* it comes from: `Normalised.origins`
maps canonical JSON pointers to input locations, so that schema errors found on the canonical
document still name the reference file's pointer (or the CSV line and column).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from typing import Any

from udata_ogp import textrules
from udata_ogp.constants import COMPLETION, DELIVERABLE_RULES, OGP_VALUES

FORMAT = "udata-ogp/1"
SCHEMA_RESOURCE = "schemas/action-plan.schema.json"

# Canonical field order: the models' declaration order (the exporter writes them in this order).
PLAN_FIELDS = (
    "country title title_en cycle start end presented_on status description description_en "
    "axes documents commitments_stated published source"
).split()
COMMITMENT_FIELDS = (
    "number ogp_id title title_en ogp_title axis ambition ambition_en challenges challenges_en "
    "lead_institutions supporting_institutions other_actors policy_areas ogp_values start_date "
    "end_date status status_evidence results results_en schedule_respected next_steps "
    "next_steps_en additional_information resources urls contact contacts based_on based_on_ids "
    "irm milestones sub_commitments published source"
).split()
MILESTONE_FIELDS = (
    "number title title_en ogp_title sub_items due timing status state state_evidence "
    "completed_on source"
).split()
SUB_COMMITMENT_FIELDS = (
    "number ministry text text_en state state_normalized comment added_outside_initial_plan "
    "urls links_without_url note"
).split()
IRM_FIELDS = (
    "verifiable relevant_to_ogp_values ambition potential_impact potential_impact_evidence "
    "completion completion_label completion_source early_results recommendation "
    "midterm_next_steps end_of_term_summary reports"
).split()
AXIS_FIELDS = ("number", "title", "title_en", "variants")
DOCUMENT_FIELDS = ("title", "url", "date", "publisher", "kind", "details")
CONTACT_FIELDS = ("name", "role")
# A commitment's deliverables (their own documents, carried in the commitment's `deliverables`):
# what is declared, never what the portal found (state, matches, proofs are the sweep's).
DELIVERABLE_FIELDS = (
    "milestone",
    "title",
    "title_en",
    "due",
    "note",
    "note_en",
    "element",
    "rules",
)
RULE_FIELDS = DELIVERABLE_RULES
RESOURCE_FIELDS = ("text", "urls")

# Free dictionaries kept verbatim: their keys are sorted on export, nothing else is touched.
FREE_DICTS = {"source", "variants", "details"}


@dataclass
class Problem:
    pointer: str
    message: str


@dataclass
class Normalised:
    """A canonical document and, for each canonical pointer, where it came from in the input."""

    doc: dict
    origins: dict[str, str] = field(default_factory=dict)

    def locate(self, pointer: str) -> str:
        """The input location of a canonical pointer (longest known prefix wins)."""
        probe = pointer
        while True:
            if probe in self.origins:
                origin = self.origins[probe]
                rest = pointer[len(probe) :]
                if not rest:
                    return origin
                return origin + rest if origin.startswith("/") else f"{origin}, at {rest}"
            if not probe:
                return pointer
            probe = probe.rsplit("/", 1)[0]


class ProblemList(Exception):
    """Raised by the pure stages with every problem found so far."""

    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(f"{p.pointer}: {p.message}" for p in problems))
        self.problems = problems


def escape(key: str | int) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def pointer(*parts: str | int) -> str:
    return "".join(f"/{escape(part)}" for part in parts)


# ---------------------------------------------------------------------------------------------
# Wordings → the IRM completion scale
# ---------------------------------------------------------------------------------------------


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return re.sub(r"\s+", " ", folded.replace("’", "'")).strip(" .;")


# A commitment's declared status: the IRM keys and the French/English column headings of the
# self-assessment tables. Anything else is refused (the status is a fact, not a guess).
STATUS_WORDS = {
    **{key: key for key in COMPLETION},
    "pas commence": "not_started",
    "non commence": "not_started",
    "not started": "not_started",
    "non realise": "not_started",
    "limite": "limited",
    "substantiel": "substantial",
    "substantielle": "substantial",
    "acheve": "complete",
    "complet": "complete",
    "completed": "complete",
    "realise": "complete",
}

# A milestone's state as worded by the government. "partiellement réalisé" maps to `limited`:
# the wording says some of it was done, not that most of it was. Unknown wordings give None.
MILESTONE_STATE_WORDS = {
    **STATUS_WORDS,
    "partiellement realise": "limited",
    "non traite a ce stade": "not_started",
    "non traite": "not_started",
}


def completion_of(wording: str | None, table: dict[str, str] = MILESTONE_STATE_WORDS) -> str | None:
    """The IRM completion a wording states; `"réalisé, actions au fil de l'eau"` → complete."""
    if not wording:
        return None
    folded = _fold(wording)
    if folded in table:
        return table[folded]
    head = re.split(r"\s*[,:(]\s*", folded, maxsplit=1)[0]
    if head in table:
        return table[head]
    # "Réalisation : substantiel": the label after the colon.
    tail = folded.rsplit(":", 1)[-1].strip()
    return table.get(tail)


# OGP values as the OGP pages word them in French.
_VALUE_WORDS = {
    "acces a l'information": "access_to_information",
    "participation civique": "civic_participation",
    "participation du public": "civic_participation",
    "responsabilite": "public_accountability",
    "redevabilite": "public_accountability",
    "technologie": "technology_innovation",
}


def ogp_values_of(text: str) -> list[str]:
    folded = _fold(text)
    found = {value for word, value in _VALUE_WORDS.items() if word in folded}
    return [value for value in OGP_VALUES if value in found]


# ---------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------


def decode(content: bytes | str, label: str = "") -> str:
    """UTF-8 text (a BOM dropped); anything else is a problem naming its line."""
    if isinstance(content, bytes):
        try:
            return content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = content[: exc.start].count(b"\n") + 1
            raise ProblemList(
                [Problem(f"{label}line {line}", f"not UTF-8 text (byte {exc.start + 1})")]
            ) from None
    return content


def json_problem(error: textrules.TextError, where: str = "") -> Problem:
    """A refusal of `textrules.loads` as a problem: at its line for malformed JSON, else at
    its pointer (after `where`, the CSV cell it came from, if any)."""
    if getattr(error, "lineno", None) is not None and not where:
        # json's own reason is English: so is the rest of the sentence.
        return Problem(
            f"line {error.lineno}, column {error.colno}", f"invalid JSON: {error.reason}"
        )
    inside = pointer(*error.path)
    if where:
        return Problem(f"{where}, at {inside}" if inside else where, error.message)
    return Problem(inside or "/", error.message)


def parse_json(content: bytes | str) -> Any:
    """JSON by the text rules (`textrules.loads`): deep nesting, NaN, `1e400`, integers beyond
    64 bits, control characters and lone surrogates are problems at their place."""
    text = decode(content)
    try:
        return textrules.loads(text)
    except textrules.TextError as error:
        raise ProblemList([json_problem(error)]) from None


def normalise(data: Any) -> Normalised:
    """Either accepted JSON shape → the canonical document (not validated yet)."""
    if isinstance(data, dict) and data.get("format") == FORMAT:
        return Normalised(doc=data)
    if isinstance(data, dict) and "action_plan" in data:
        return ReferenceMapper(data).run()
    if isinstance(data, dict) and "format" in data:
        raise ProblemList([Problem("/format", f"unknown format {data['format']!r}")])
    raise ProblemList(
        [
            Problem(
                "/",
                f'expected {{"format": "{FORMAT}", ...}} or the reference shape '
                '({"action_plan": ..., "commitments": [...]})',
            )
        ]
    )


# ---------------------------------------------------------------------------------------------
# The reference shape
# ---------------------------------------------------------------------------------------------

_OGP_BLOCK = re.compile(r"^ogp_([a-z]{2,8}\d{2,5})$")
_OGP_MILESTONE_KEY = re.compile(r"^ogp_([a-z]{2,8}\d{2,5})_milestone$")

# OGP block keys → IRM assessment fields.
_IRM_FROM_OGP = {
    "verifiable": "verifiable",
    "relevant_to_ogp_values": "relevant_to_ogp_values",
    "ambition": "ambition",
    "potential_impact": "potential_impact",
    "potential_impact_evidence": "potential_impact_evidence",
    "completion_source": "completion_source",
    "early_results": "early_results",
    "irm_midterm_next_steps": "midterm_next_steps",
    "irm_end_of_term_summary": "end_of_term_summary",
    "irm_reports": "reports",
}
# OGP block keys → commitment fields (filled only when the self-assessment left them empty).
_COMMITMENT_FROM_OGP = {
    "supporting_institutions": "supporting_institutions",
    "policy_areas": "policy_areas",
    "challenges": "challenges",
    "based_on": "based_on",
    "start_date": "start_date",
    "end_date": "end_date",
}
# Keys of the self-assessment commitments with a field of the same name.
_DIRECT_COMMITMENT = (set(COMMITMENT_FIELDS) | {"deliverables"}) - {
    "milestones",
    "sub_commitments",
    "irm",
    "source",
}
_DIRECT_PLAN = set(PLAN_FIELDS) - {"axes", "documents", "source", "start", "end"}


class ReferenceMapper:
    """`fr-action-plan-2018-2020.json`'s shape → canonical. Unmapped facts go to `source`."""

    def __init__(self, data: dict):
        self.data = data
        self.origins: dict[str, str] = {}
        self.problems: list[Problem] = []

    def origin(self, canonical: str, source: str) -> None:
        self.origins[canonical] = source

    def run(self) -> Normalised:
        data = self.data
        plan = self.plan(data.get("action_plan"))
        commitments_raw = data.get("commitments", [])
        commitments: list[dict] = []
        if not isinstance(commitments_raw, list):
            self.problems.append(Problem("/commitments", "expected a list of commitments"))
        else:
            for index, raw in enumerate(commitments_raw):
                commitments.append(self.commitment(index, raw))
        for key, value in data.items():
            if key in ("action_plan", "commitments"):
                continue
            if _OGP_BLOCK.match(key) and isinstance(value, dict):
                self.ogp_block(key, value, commitments)
            else:
                # `metadata` and anything else the file says about itself.
                plan["source"][key] = value
                self.origin(pointer("plan", "source", key), pointer(key))
        if self.problems:
            raise ProblemList(self.problems)
        doc = {"format": FORMAT, "plan": plan, "commitments": commitments}
        return Normalised(doc=doc, origins=self.origins)

    # -- plan -------------------------------------------------------------------------------

    def plan(self, raw: Any) -> dict:
        plan: dict[str, Any] = {"source": {}}
        self.origin("/plan", "/action_plan")
        if not isinstance(raw, dict):
            self.problems.append(Problem("/action_plan", "expected an object"))
            return plan
        for key, value in raw.items():
            src = pointer("action_plan", key)
            if key in _DIRECT_PLAN:
                plan[key] = value
            elif key == "period" and isinstance(value, dict):
                rest = dict(value)
                for name in ("start", "end"):
                    if name in rest:
                        plan[name] = rest.pop(name)
                        self.origin(pointer("plan", name), pointer("action_plan", "period", name))
                if rest:
                    plan["source"]["period"] = rest
                continue
            elif key == "axes" and isinstance(value, list):
                plan["axes"] = [self.axis(i, axis) for i, axis in enumerate(value)]
            elif key == "self_assessment_report" and isinstance(value, dict):
                details = {k: v for k, v in value.items() if k not in DOCUMENT_FIELDS}
                document = {k: v for k, v in value.items() if k in DOCUMENT_FIELDS}
                document.setdefault("kind", "self_assessment")
                if details:
                    document["details"] = details
                plan.setdefault("documents", []).append(document)
                index = len(plan["documents"]) - 1
                self.origin(pointer("plan", "documents", index), src)
                for k in details:
                    self.origin(pointer("plan", "documents", index, "details", k), src + "/" + k)
                continue
            else:
                plan["source"][key] = value
                self.origin(pointer("plan", "source", key), src)
                continue
            self.origin(pointer("plan", key), src)
        start, end = plan.get("start"), plan.get("end")
        if "cycle" not in plan and isinstance(start, str) and isinstance(end, str):
            # OGP names cycles after their years; derived, so it is not stored in `source`.
            plan["cycle"] = f"{start}-{end}"
        # A file in the reference shape describes a plan its government has made public.
        plan.setdefault("published", True)
        return plan

    def axis(self, index: int, raw: Any) -> Any:
        if not isinstance(raw, dict):
            return raw  # the schema names the problem
        axis = {k: v for k, v in raw.items() if k in ("number", "title", "title_en")}
        variants = {k: v for k, v in raw.items() if k not in axis}
        if variants:
            axis["variants"] = variants
            for k in variants:
                self.origin(
                    pointer("plan", "axes", index, "variants", k),
                    pointer("action_plan", "axes", index, k),
                )
        return axis

    # -- commitments ------------------------------------------------------------------------

    def commitment(self, index: int, raw: Any) -> Any:
        base = pointer("commitments", index)
        if not isinstance(raw, dict):
            return raw
        out: dict[str, Any] = {"source": {}}
        irm: dict[str, Any] = {}
        for key, value in raw.items():
            src = f"{base}/{escape(key)}"
            if key == "status":
                out["status"] = self.status(value, out)
            elif key in _DIRECT_COMMITMENT:
                out[key] = value
            elif key == "irm_recommendation":
                if value is not None:
                    irm["recommendation"] = value
                    self.origin(f"{base}/irm/recommendation", src)
                continue
            elif key == "milestones" and isinstance(value, list):
                out["milestones"] = [
                    self.milestone(raw.get("number"), index, k, m) for k, m in enumerate(value)
                ]
            elif key == "sub_commitments" and isinstance(value, list):
                out["sub_commitments"] = [self.sub_commitment(s) for s in value]
                for k, sub in enumerate(value):
                    if isinstance(sub, dict) and "row" in sub:
                        self.origin(f"{base}/sub_commitments/{k}/number", f"{src}/{k}/row")
            else:
                out["source"][key] = value
                self.origin(f"{base}/source/{escape(key)}", src)
                continue
            self.origin(f"{base}/{escape(key)}", src)
        if irm:
            out["irm"] = irm
        out.setdefault("published", True)
        return out

    def status(self, value: Any, out: dict) -> Any:
        if not isinstance(value, str):
            return value
        normalised = completion_of(value, STATUS_WORDS)
        if normalised is None:
            return value  # the schema names it as an unknown status
        if normalised != value:
            out["source"]["status_label"] = value
        return normalised

    def milestone(self, number: Any, c_index: int, index: int, raw: Any) -> Any:
        if not isinstance(raw, dict):
            return raw
        out = {k: v for k, v in raw.items() if not _OGP_MILESTONE_KEY.match(k)}
        base = pointer("commitments", c_index, "milestones", index)
        for k, value in raw.items():
            if not _OGP_MILESTONE_KEY.match(k):
                continue
            # `ogp_<id>_milestone` is the milestone's number in the OGP plan: the same milestone.
            if out.get("number", value) != value:
                self.problems.append(
                    Problem(
                        f"{base}/{escape(k)}",
                        f"differs from the milestone number {out['number']!r}",
                    )
                )
            out["number"] = value
            self.origin(f"{base}/number", f"{base}/{escape(k)}")
        out.setdefault("number", f"{number}.{index + 1}")
        status = completion_of(raw.get("state"))
        if status:
            out["status"] = status
        return out

    def sub_commitment(self, raw: Any) -> Any:
        if not isinstance(raw, dict):
            return raw
        out = {k: v for k, v in raw.items() if k != "row"}
        if "row" in raw:
            out["number"] = raw["row"]
        return out

    # -- ogp_<id> blocks --------------------------------------------------------------------

    def ogp_block(self, key: str, block: dict, commitments: list) -> None:
        base = pointer(key)
        numbers = {
            block[k]
            for k in ("commitment_number_in_plan", "self_assessment_commitment")
            if k in block
        }
        if len(numbers) != 1:
            self.problems.append(
                Problem(
                    f"{base}/commitment_number_in_plan",
                    "the block must name its commitment once (commitment_number_in_plan / "
                    "self_assessment_commitment disagree or are missing)",
                )
            )
            return
        number = numbers.pop()
        target = next(
            (
                (i, c)
                for i, c in enumerate(commitments)
                if isinstance(c, dict) and c.get("number") == number
            ),
            None,
        )
        if target is None:
            self.problems.append(
                Problem(f"{base}/commitment_number_in_plan", f"no commitment number {number!r}")
            )
            return
        c_index, commitment = target
        cbase = pointer("commitments", c_index)
        leftover: dict[str, Any] = {}
        irm = commitment.setdefault("irm", {})

        def put(container: dict, name: str, value: Any, canonical: str, src_key: str) -> None:
            # The self-assessment's own value wins; the OGP one then stays in `source`.
            if container.get(name) not in (None, [], "") and container.get(name) != value:
                leftover[src_key] = value
                return
            if value is None:
                leftover[src_key] = value
                return
            container[name] = value
            self.origin(canonical, f"{base}/{escape(src_key)}")

        for k, value in block.items():
            if k in ("commitment_number_in_plan", "self_assessment_commitment"):
                continue  # they are the commitment's number
            if k == "ogp_id":
                put(commitment, "ogp_id", value, f"{cbase}/ogp_id", k)
            elif k == "title":
                put(commitment, "ogp_title", value, f"{cbase}/ogp_title", k)
            elif k in _COMMITMENT_FROM_OGP:
                name = _COMMITMENT_FROM_OGP[k]
                put(commitment, name, value, f"{cbase}/{name}", k)
            elif k in _IRM_FROM_OGP:
                name = _IRM_FROM_OGP[k]
                put(irm, name, value, f"{cbase}/irm/{name}", k)
            elif k == "completion":
                irm["completion_label"] = value
                self.origin(f"{cbase}/irm/completion_label", f"{base}/completion")
                normalised = completion_of(value, STATUS_WORDS) if isinstance(value, str) else None
                irm["completion"] = normalised or value
                self.origin(f"{cbase}/irm/completion", f"{base}/completion")
            elif k == "milestones" and isinstance(value, list):
                self.ogp_milestones(key, value, commitment, c_index)
            else:
                if (
                    k == "ogp_principles"
                    and isinstance(value, str)
                    and not commitment.get("ogp_values")
                ):
                    commitment["ogp_values"] = ogp_values_of(value)
                leftover[k] = value
        if not irm:
            commitment.pop("irm")
        commitment.setdefault("source", {})[key] = leftover
        for k in leftover:
            self.origin(f"{cbase}/source/{escape(key)}/{escape(k)}", f"{base}/{escape(k)}")

    def ogp_milestones(self, key: str, milestones: list, commitment: dict, c_index: int) -> None:
        own = commitment.setdefault("milestones", [])
        for j, raw in enumerate(milestones):
            src = pointer(key, "milestones", j)
            if not isinstance(raw, dict):
                self.problems.append(Problem(src, "expected an object"))
                continue
            extra = set(raw) - {"number", "title", "sub_items", "timing"}
            for k in sorted(extra):
                self.problems.append(Problem(f"{src}/{escape(k)}", "unknown milestone field"))
            match = next(
                (
                    (i, m)
                    for i, m in enumerate(own)
                    if isinstance(m, dict) and m.get("number") == raw.get("number")
                ),
                None,
            )
            if match is None:
                own.append(
                    {
                        "number": raw.get("number"),
                        "title": raw.get("title"),
                        "source": key,
                    }
                )
                k_index = len(own) - 1
                self.origin(pointer("commitments", c_index, "milestones", k_index), src)
                milestone = own[k_index]
            else:
                k_index, milestone = match
                milestone["ogp_title"] = raw.get("title")
            m_base = pointer("commitments", c_index, "milestones", k_index)
            self.origin(f"{m_base}/ogp_title", f"{src}/title")
            for name in ("sub_items", "timing"):
                if name in raw:
                    milestone[name] = raw[name]
                    self.origin(f"{m_base}/{name}", f"{src}/{name}")


# ---------------------------------------------------------------------------------------------
# Validation of the canonical document
# ---------------------------------------------------------------------------------------------


@cache
def schema() -> dict:
    return json.loads(files("udata_ogp").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8"))


def _schema_problems(doc: Any) -> list[Problem]:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema())
    problems = []
    for error in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        where = pointer(*error.absolute_path)
        message = error.message
        if error.validator == "required":
            name = re.match(r"'(.+)' is a required property", message)
            if name:
                where, message = f"{where}/{escape(name.group(1))}", "is required"
        elif error.validator == "additionalProperties":
            names = re.findall(r"'([^']+)'", message.split("(")[-1])
            for name in names:
                problems.append(Problem(f"{where}/{escape(name)}", "unknown field"))
            continue
        elif error.validator == "enum":
            message = f"unknown value {error.instance!r}; expected one of: " + ", ".join(
                str(v) for v in error.validator_value if v is not None
            )
        elif error.validator == "pattern" and error.validator_value == _DATE_PATTERN:
            message = f"bad date {error.instance!r}; expected YYYY, YYYY-MM or YYYY-MM-DD"
        elif error.validator == "pattern" and error.validator_value == _ID_PATTERN:
            message = f"{error.instance!r} is not an id (24 hexadecimal characters)"
        problems.append(Problem(where, message))
    return problems


_DATE_PATTERN = r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$"
_ID_PATTERN = "^[0-9a-f]{24}$"


def _duplicates(items: list, key: str, base: str, label: str) -> list[Problem]:
    seen: dict[Any, int] = {}
    problems = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or item.get(key) in (None, ""):
            continue
        value = item[key]
        if value in seen:
            problems.append(
                Problem(
                    f"{base}/{index}/{key}",
                    f"duplicate {label} {value!r} (also at {base}/{seen[value]})",
                )
            )
        else:
            seen[value] = index
    return problems


def validate(normalised: Normalised) -> list[Problem]:
    """Every problem of the canonical document, located in the input."""
    doc = normalised.doc
    problems = _schema_problems(doc)
    commitments = doc.get("commitments") if isinstance(doc, dict) else None
    if isinstance(commitments, list):
        problems += _duplicates(commitments, "number", "/commitments", "number")
        problems += _duplicates(commitments, "ogp_id", "/commitments", "OGP id")
        for index, commitment in enumerate(commitments):
            if isinstance(commitment, dict) and isinstance(commitment.get("milestones"), list):
                problems += _duplicates(
                    commitment["milestones"],
                    "number",
                    f"/commitments/{index}/milestones",
                    "milestone number",
                )
    return [Problem(normalised.locate(p.pointer), p.message) for p in problems]


def load(content: bytes | str) -> Normalised:
    """Parse, normalise and validate a JSON document; raises ProblemList."""
    normalised = normalise(parse_json(content))
    problems = validate(normalised)
    if problems:
        raise ProblemList(problems)
    return normalised


# ---------------------------------------------------------------------------------------------
# Canonical serialisation
# ---------------------------------------------------------------------------------------------


def sort_free(value: Any) -> Any:
    """Free dictionaries, recursively key-sorted: the only order a database keeps reliably."""
    if isinstance(value, dict):
        return {k: sort_free(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [sort_free(v) for v in value]
    return value


def dump_json(doc: dict) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
