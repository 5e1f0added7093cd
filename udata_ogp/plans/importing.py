"""Import an action plan (JSON or CSV) into the database: validate everything, then write.

Stages: parse and normalise to the canonical document (pure, `plan_format` / `plan_csv`),
validate it (JSON Schema + duplicates), build every document and `.validate()` it, check
conflicts with what the database holds, and only then save. An invalid file therefore writes
nothing (no transactions needed: nothing is written before the last check). Re-importing the
same file saves nothing: a document is saved only when its canonical form changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from mongoengine import Document
from mongoengine.errors import NotUniqueError, SaveConditionError, ValidationError
from udata.i18n import gettext as _

from udata_ogp.actions import create_link
from udata_ogp.claims import claim, plan_identity
from udata_ogp.delivery import sweep
from udata_ogp.delivery.actions import declare
from udata_ogp.errors import Conflict, OgpError, duplicate_fields
from udata_ogp.loading import ref_id
from udata_ogp.models import (
    ActionPlan,
    Axis,
    Commitment,
    CommitmentLink,
    Contact,
    Deliverable,
    IrmAssessment,
    Milestone,
    Proposal,
    ResourceRef,
    SourceDocument,
    StatusChange,
    SubCommitment,
)
from udata_ogp.plans import document as pf
from udata_ogp.plans.exporting import commitment_dict, deliverable_dict, plan_dict
from udata_ogp.targets import state_of_document, target_model

__all__ = ("ImportProblem", "ImportReport", "ImportValidationError", "import_plan")

ImportProblem = pf.Problem


class ImportValidationError(Exception):
    """The file cannot be imported; `problems` names every place at fault."""

    def __init__(self, problems: list[ImportProblem]):
        self.problems = problems
        super().__init__(
            f"{len(problems)} problem(s):\n"
            + "\n".join(f"{p.pointer}: {p.message}" for p in problems)
        )


@dataclass
class ImportReport:
    plan: ActionPlan | None = None
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    links_created: list[str] = field(default_factory=list)
    dry_run: bool = False

    def as_dict(self) -> dict:
        return {
            "plan": self.plan.slug if self.plan is not None and self.plan.slug else None,
            "dry_run": self.dry_run,
            "created": list(self.created),
            "updated": list(self.updated),
            "unchanged": list(self.unchanged),
            "deleted": list(self.deleted),
            "links_created": list(self.links_created),
        }


_EMBEDDED = {
    "axes": Axis,
    "documents": SourceDocument,
    "contact": Contact,
    "contacts": Contact,
    "resources": ResourceRef,
    "irm": IrmAssessment,
    "milestones": Milestone,
    "sub_commitments": SubCommitment,
}


def _embedded(name: str, value: Any) -> Any:
    cls = _EMBEDDED.get(name)
    if cls is None or value is None:
        return value
    if isinstance(value, list):
        return [cls(**{k: v for k, v in item.items() if v is not None}) for item in value]
    return cls(**{k: v for k, v in value.items() if v is not None})


def _assign(doc: Document, data: dict, names: list[str]) -> None:
    """Set every canonical field: the file is the truth for them, absent means empty."""
    for name in names:
        value = data.get(name)
        if value is None:
            default = doc._fields[name].default
            value = default() if callable(default) else default
        setattr(doc, name, _embedded(name, value))


def _error_pointers(error: ValidationError, base: str) -> list[tuple[str, str]]:
    def flatten(errors: Any, where: str) -> list[tuple[str, str]]:
        if isinstance(errors, dict):
            return [
                item
                for key, value in errors.items()
                for item in flatten(value, f"{where}/{pf.escape(key)}")
            ]
        return [(where, str(errors))]

    errors = error.to_dict()
    return flatten(errors, base) if errors else [(base, error.message)]


def _validate(doc: Document, base: str, new: bool) -> list[tuple[str, str]]:
    try:
        doc.validate()
    except ValidationError as exc:
        # A new document's slug is made when it is saved, from its title.
        return [
            (where, message)
            for where, message in _error_pointers(exc, base)
            if not (new and where == f"{base}/slug")
        ]
    return []


def _key(commitment: Commitment) -> str:
    suffix = f" ({commitment.ogp_id})" if commitment.ogp_id else ""
    return f"commitment {commitment.number}{suffix}"


# data.gouv.fr dataset and reuse pages, with or without a language prefix.
_PORTAL_URL = re.compile(
    r"https?://(?:www\.)?data\.gouv\.fr(?:/(?:fr|en|es))?/(datasets|reuses)/([A-Za-z0-9_.-]+)"
)


def _strings(value: Any):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def portal_slugs(commitment: dict) -> list[tuple[str, str]]:
    """(class, slug) of every data.gouv.fr dataset or reuse page a commitment mentions."""
    found: dict[tuple[str, str], None] = {}
    for text in _strings(commitment):
        for kind, slug in _PORTAL_URL.findall(text):
            found.setdefault(("Dataset" if kind == "datasets" else "Reuse", slug), None)
    return list(found)


def _parse(content: bytes | str, fmt: str, milestones_csv, links_csv) -> pf.Normalised:
    if fmt == "json":
        if milestones_csv is not None or links_csv is not None:
            raise pf.ProblemList([pf.Problem("/", "extra CSV files only go with --format csv")])
        return pf.load(content)
    if fmt == "csv":
        from udata_ogp.plans.csvfile import load_csv

        return load_csv(content, milestones_csv=milestones_csv, links_csv=links_csv)
    raise pf.ProblemList([pf.Problem("/", f"unknown format {fmt!r}; expected json or csv")])


def import_plan(
    content: bytes | str,
    fmt: str = "json",
    *,
    dry_run: bool = False,
    by=None,
    milestones_csv: bytes | str | None = None,
    links_csv: bytes | str | None = None,
) -> ImportReport:
    """Create or update one plan and its commitments; raises ImportValidationError.

    A real import holds the plan's claim (`udata_ogp.claims`) from its first read to its
    last write: a concurrent import of the same plan gets ImportInProgress (409). A write the
    database refuses all the same (a unique index, a commitment changed meanwhile) undoes the
    import's earlier writes and raises Conflict (409).
    """
    try:
        normalised = _parse(content, fmt, milestones_csv, links_csv)
    except pf.ProblemList as exc:
        raise ImportValidationError(exc.problems) from None
    if dry_run:
        return _import(normalised, dry_run=True, by=by)
    plan_data = normalised.doc["plan"]
    identity = plan_identity(plan_data["country"], plan_data["title"])
    with claim(identity, label=repr(plan_data["title"]), by=by):
        return _import(normalised, dry_run=False, by=by)


def _import(normalised: pf.Normalised, *, dry_run: bool, by) -> ImportReport:
    doc = normalised.doc
    problems: list[tuple[str, str]] = []
    report = ImportReport(dry_run=dry_run)

    # -- the plan --------------------------------------------------------------------------
    plan_data = doc["plan"]
    plan = ActionPlan.objects(country=plan_data["country"], title=plan_data["title"]).first()
    plan_new = plan is None
    if plan_new:
        plan = ActionPlan(id=ObjectId(), owner=by)
        plan_before = None
    else:
        plan_before = plan_dict(plan)
    # Stored forms as read, to undo this import's writes if the database refuses one.
    stored = {} if plan_new else _stored(ActionPlan, {"_id": plan.pk})
    declared: dict[ObjectId, list[Deliverable]] = {}
    if not plan_new:
        stored_commitments = _stored(Commitment, {"plan": plan.pk})
        stored_deliverables = _stored(
            Deliverable, {"commitment": {"$in": list(stored_commitments)}}
        )
        stored.update(stored_commitments)
        stored.update(stored_deliverables)
        declared = _declared_by_commitment(stored_deliverables)
    _assign(plan, plan_data, pf.PLAN_FIELDS)
    problems += _validate(plan, "/plan", plan_new)
    plan_changed = plan_new or plan_dict(plan) != plan_before
    plan_key = f"plan {plan_data['title']}"

    # -- the commitments -------------------------------------------------------------------
    existing = [] if plan_new else list(Commitment.objects(plan=plan))
    by_number = {c.number: c for c in existing}
    claimed: dict[ObjectId, int] = {}
    planned: list[tuple[Commitment, bool, bool, dict]] = []
    deliverables: list[tuple[Deliverable, str]] = []
    for index, data in enumerate(doc["commitments"]):
        base = f"/commitments/{index}"
        match = None
        ogp_id = data.get("ogp_id")
        if ogp_id:
            match = Commitment.objects(ogp_id=ogp_id).first()
            if match is not None and match.plan.pk != plan.pk:
                problems.append(
                    (
                        f"{base}/ogp_id",
                        f"OGP id {ogp_id} is already used by commitment {match.number} of "
                        f"plan {match.plan.title!r}",
                    )
                )
                continue
        if match is None:
            match = by_number.get(data["number"])
        elif data["number"] in by_number and by_number[data["number"]].pk != match.pk:
            problems.append(
                (
                    f"{base}/number",
                    f"number {data['number']} is held by another commitment of the plan "
                    f"({_key(by_number[data['number']])}); renumbering onto it is refused",
                )
            )
            continue
        if match is not None:
            if match.pk in claimed:
                problems.append(
                    (
                        base,
                        f"matches the same stored commitment as /commitments/{claimed[match.pk]}",
                    )
                )
                continue
            claimed[match.pk] = index
        new = match is None
        commitment = Commitment(id=ObjectId(), owner=by) if new else match
        before = None if new else commitment_dict(commitment)
        status_before = commitment.status
        _assign(commitment, data, pf.COMMITMENT_FIELDS)
        commitment.plan = plan
        if not new and commitment.status != status_before:
            # Status changes are audited (see actions.change_status); an import is one too.
            commitment.status_history.append(
                StatusChange(
                    at=datetime.now(UTC),
                    by=by,
                    by_name=getattr(by, "fullname", None),
                    status_from=status_before,
                    status_to=commitment.status,
                    rationale="Imported from a file",
                )
            )
        problems += _validate(commitment, base, new)
        changed = new or commitment_dict(commitment) != before
        planned.append((commitment, new, changed, data))
        if data.get("deliverables") is not None:
            deliverables += _plan_deliverables(
                commitment,
                data["deliverables"],
                declared.pop(commitment.pk, []),
                base,
                by,
                problems,
            )

    if problems:
        raise ImportValidationError(
            [pf.Problem(normalised.locate(where), message) for where, message in problems]
        )

    # -- write (or say what would be written) ----------------------------------------------
    (report.created if plan_new else report.updated if plan_changed else report.unchanged).append(
        plan_key
    )
    report.plan = plan if not (dry_run and plan_new) else None
    for commitment, new, changed, _data in planned:
        key = _key(commitment)
        (report.created if new else report.updated if changed else report.unchanged).append(key)
    numbers = {c.pk: c.number for c, *_rest in planned}
    for deliverable, action in deliverables:
        number = numbers[ref_id(deliverable._data.get("commitment"))]
        getattr(report, action).append(f"deliverable {deliverable.title!r} of commitment {number}")
    if not dry_run:
        _write(plan, plan_new, plan_changed, planned, stored, deliverables)
        _evaluate(planned, deliverables)
    for commitment, new, _changed, data in planned:
        report.links_created += _evidence_links(commitment, new, data, by, dry_run)
    return report


def _declared_by_commitment(stored: dict[ObjectId, dict]) -> dict[ObjectId, list[Deliverable]]:
    """The stored deliverables (read with the rest), by commitment, in the order declared."""
    raws = list(stored.values())
    raws.sort(key=lambda raw: (raw.get("created_at") or datetime.min, raw["_id"]))
    found: dict[ObjectId, list[Deliverable]] = {}
    for raw in raws:
        found.setdefault(raw["commitment"], []).append(Deliverable._from_son(raw))
    return found


def _canonical(entry: Any) -> Any:
    """A file's deliverable as the exporter writes it (empty values dropped), to compare."""
    if not isinstance(entry, dict):
        return entry
    out = {}
    for name in pf.DELIVERABLE_FIELDS:
        value = entry.get(name)
        if name == "rules" and isinstance(value, dict):
            value = {k: value[k] for k in pf.RULE_FIELDS if value.get(k) not in (None, "", [])}
        if value not in (None, "", [], {}):
            out[name] = value
    return out


def _plan_deliverables(
    commitment: Commitment,
    entries: list,
    stored: list[Deliverable],
    base: str,
    by,
    problems: list[tuple[str, str]],
) -> list[tuple[Deliverable, str]]:
    """What becomes of the commitment's deliverables: the file's list is the whole list.

    A stored deliverable is the file's entry of the same title (in order, if several share it),
    so that its state, proofs and history stay; an entry matching none is created, a stored
    deliverable matching no entry is deleted. Each entry gets the API's checks.
    """
    queues: dict[str, list[Deliverable]] = {}
    for deliverable in stored:
        queues.setdefault(deliverable.title, []).append(deliverable)
    out: list[tuple[Deliverable, str]] = []
    for index, entry in enumerate(entries):
        where = f"{base}/deliverables/{index}"
        title = entry.get("title") if isinstance(entry, dict) else None
        match = queues[title].pop(0) if queues.get(title) else None
        if match is not None and _canonical(entry) == deliverable_dict(match):
            out.append((match, "unchanged"))
            continue
        deliverable = match or Deliverable(
            id=ObjectId(), commitment=commitment, plan=commitment.plan, created_by=by
        )
        before = deliverable_dict(match) if match is not None else None
        try:
            declare(deliverable, entry)
        except OgpError as error:
            name = error.field or ""
            message = error.message.removeprefix(f"{name}: ") if name else error.message
            suffix = "".join(f"/{pf.escape(part)}" for part in name.split(".") if part)
            problems.append((where + suffix, message))
            continue
        if match is None:
            out.append((deliverable, "created"))
        else:
            changed = deliverable_dict(deliverable) != before
            out.append((deliverable, "updated" if changed else "unchanged"))
    out += [(d, "deleted") for queue in queues.values() for d in queue]
    return out


def _evaluate(
    planned: list[tuple[Commitment, bool, bool, dict]],
    deliverables: list[tuple[Deliverable, str]],
) -> None:
    """What the portal's data says of the new or changed deliverables, at once (a scoped sweep:
    a constant number of commands), and each touched commitment's verification."""
    asked = [d.pk for d, action in deliverables if action in ("created", "updated")]
    if asked:
        sweep.check_deliverables(ids=asked)
    touched = {c.pk for c, _new, changed, _data in planned if changed}
    touched |= {
        ref_id(d._data.get("commitment")) for d, action in deliverables if action != "unchanged"
    }
    sweep.rollup(touched)


def _stored(model: type[Document], query: dict) -> dict[ObjectId, dict]:
    return {raw["_id"]: raw for raw in model._get_collection().find(query)}


def _unchanged_since_read(raw: dict) -> dict:
    """A save condition: the status and its history are as read (a status change refuses it)."""
    length = len(raw.get("status_history") or [])
    condition = {"status": raw.get("status"), f"status_history__{length}__exists": False}
    if length:
        condition[f"status_history__{length - 1}__exists"] = True
    return condition


def _write(
    plan: ActionPlan,
    plan_new: bool,
    plan_changed: bool,
    planned: list[tuple[Commitment, bool, bool, dict]],
    stored: dict[ObjectId, dict],
    deliverables: list[tuple[Deliverable, str]] = (),
) -> None:
    """Save what changed; a refused write undoes the earlier ones and raises Conflict.

    A new plan is written unpublished and published last, so that no reader ever sees it
    without all its commitments.
    """
    written: list[Document] = []
    publish = plan_new and plan.published
    current: Document = plan
    try:
        if plan_changed:
            if publish:
                plan.published = False
            plan.save()
            written.append(plan)
        for commitment, new, changed, _data in planned:
            if not changed:
                continue
            current = commitment
            if new:
                commitment.save()
            else:
                commitment.save(save_condition=_unchanged_since_read(stored[commitment.pk]))
            written.append(commitment)
        for deliverable, action in deliverables:
            if action in ("created", "updated"):
                current = deliverable
                deliverable.save()
                written.append(deliverable)
            elif action == "deleted":
                Deliverable._get_collection().delete_one({"_id": deliverable.pk})
                written.append(deliverable)
        if publish:
            ActionPlan.objects(id=plan.id).update_one(set__published=True)
            plan.published = True
        gone = [d.pk for d, action in deliverables if action == "deleted"]
        if gone:  # what the review queue proposed for them goes with them (the model's cascade)
            Proposal.objects(deliverable__in=gone).delete()
    except (NotUniqueError, SaveConditionError) as exc:
        _undo(written, stored)
        raise _refused(current, exc) from None
    except BaseException:
        _undo(written, stored)  # whatever stopped the import, it leaves no half plan
        raise


def _undo(written: list[Document], stored: dict[ObjectId, dict]) -> None:
    """Back to the stored forms read before the import: new documents go, others are restored."""
    for doc in reversed(written):
        collection = type(doc)._get_collection()
        raw = stored.get(doc.pk)
        if raw is None:
            collection.delete_one({"_id": doc.pk})
        else:  # upsert: a deleted deliverable comes back
            collection.replace_one({"_id": doc.pk}, raw, upsert=True)


def _refused(doc: Document, exc: Exception) -> Conflict:
    if isinstance(doc, ActionPlan):
        what = f"plan {doc.title!r}"
    elif isinstance(doc, Deliverable):
        what = f"deliverable {doc.title!r}"
    else:
        what = _key(doc)
    if isinstance(exc, SaveConditionError):
        return Conflict(
            _(
                "The status of %(what)s changed while the file was being imported; nothing "
                "was written, import it again.",
                what=what,
            ),
            field="status",
        )
    fields = duplicate_fields(doc)
    return Conflict(
        _(
            "%(what)s: another document already has this %(fields)s (written meanwhile); "
            "nothing was written.",
            what=what,
            fields=", ".join(fields) or _("value"),
        ),
        field=fields[-1] if fields else None,
    )


def _evidence_links(commitment: Commitment, new: bool, data: dict, by, dry_run: bool) -> list[str]:
    """Link the portal's own datasets and reuses a commitment cites by URL (role `evidence`)."""
    made = []
    for class_name, slug in portal_slugs(data):
        target = target_model(class_name).objects(slug=slug).first()
        if target is None:
            continue  # not on this portal: the URL stays a plain resource of the commitment
        state = state_of_document(target)
        if state["deleted"] or state["private"]:
            continue  # create_link refuses them; the dry run must say the same
        if (
            not new
            and CommitmentLink.objects(
                commitment=commitment, target_class=class_name, target_id=target.id, role="evidence"
            ).first()
        ):
            continue
        label = f"{_key(commitment)} → {class_name} {slug}"
        if dry_run:
            made.append(label)
            continue
        try:
            create_link(
                commitment,
                target_class=class_name,
                target_id=target.id,
                role="evidence",
                by=by,
                source="import",
                check=False,
            )
        except OgpError:
            # Deleted or private targets, or a link made meanwhile: not the import's business.
            continue
        made.append(label)
    return made
