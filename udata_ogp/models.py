"""Action plans, commitments, milestones and links to portal objects, as udata 17 documents.

Content fields are written in French (the field itself, required where the content is) and may
carry an English version in a sibling field suffixed `_en`; `localized()` picks one for a reader.
Collections are prefixed `ogp_`. Nothing here does more I/O than saving a document.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from blinker import Signal
from bson import ObjectId
from flask import url_for
from mongoengine import CASCADE, NULLIFY, EmbeddedDocument
from mongoengine.fields import (
    BooleanField,
    DateTimeField,
    DictField,
    EmbeddedDocumentField,
    IntField,
    ListField,
    ObjectIdField,
    ReferenceField,
    StringField,
)
from mongoengine.signals import post_save
from udata.api_fields import field, generate_fields
from udata.core.auditable import Auditable
from udata.core.linkable import Linkable
from udata.core.owned import Owned, OwnedQuerySet
from udata.i18n import lazy_gettext as _
from udata.mongo.datetime_fields import Datetimed
from udata.mongo.document import UDataDocument as Document
from udata.mongo.errors import FieldValidationError
from udata.mongo.slug_fields import SlugField

from udata_ogp import textrules
from udata_ogp.constants import (
    COMPLETION,
    DELIVERABLE_STATES,
    HEALTH,
    LINK_ROLES,
    LINK_SOURCES,
    OGP_VALUES,
    PLAN_STATUS,
    PROPOSAL_KINDS,
    PROPOSAL_STATES,
    TARGET_CLASSES,
)

__all__ = (
    "ActionPlan",
    "Axis",
    "Commitment",
    "CommitmentLink",
    "Contact",
    "Deliverable",
    "DeliverableEvent",
    "DeliverableRules",
    "DeliveryMatch",
    "HealthEvent",
    "IrmAssessment",
    "LinkSnapshot",
    "Milestone",
    "Proof",
    "ProofItem",
    "ProofResource",
    "Proposal",
    "ResourceRef",
    "SourceDocument",
    "StatusChange",
    "SubCommitment",
    "keywords_for",
)

# Dates in action plans are often partial ("2018", "2018-06"): keep what the source says.
PARTIAL_DATE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")


def check_partial_date(value, **_kwargs) -> None:
    if value and not PARTIAL_DATE.match(value):
        raise FieldValidationError(
            _("Expected a date as YYYY, YYYY-MM or YYYY-MM-DD."), field=_kwargs.get("field", "date")
        )


def _choices_check(choices: dict, allow_none: bool = True):
    """A `field(checks=...)` entry refusing values outside `choices`, naming the allowed ones."""

    def check(value, **_kwargs) -> None:
        values = value if isinstance(value, list) else [value]
        for item in values:
            if item is None and allow_none:
                continue
            if item not in choices:
                raise FieldValidationError(
                    _(
                        "Unknown value %(value)r; expected one of: %(choices)s.",
                        value=item,
                        choices=", ".join(choices),
                    ),
                    field=_kwargs.get("field", "value"),
                )

    return check


# ---------------------------------------------------------------------------------------------
# Field classes: every text and integer the plugin stores is checked by `udata_ogp.textrules`
# when a document is validated, whoever writes it (API, pages, import, tasks).
# ---------------------------------------------------------------------------------------------


class Text(StringField):
    """A string of one kind of `textrules.KINDS` (its length limit, one line or several)."""

    def __init__(self, kind: str = "text", **kwargs):
        if kind not in textrules.KINDS:
            raise ValueError(f"unknown kind of text {kind!r}")
        self.kind = kind
        super().__init__(**kwargs)

    def validate(self, value) -> None:
        super().validate(value)
        message = textrules.problem(value, self.kind)
        if message is not None:
            self.error(message)


class Int(IntField):
    """An integer that is one: mongoengine's IntField would take `1.5` (stored as 1) or `True`,
    and let 2**64 through to a BSON overflow at save time."""

    def validate(self, value) -> None:
        message = textrules.int_problem(value)
        if message is not None:
            self.error(message)
        super().validate(value)


class FreeDict(DictField):
    """Facts kept verbatim: any keys and values, but their strings follow the text rules."""

    def validate(self, value) -> None:
        super().validate(value)
        try:
            textrules.check_value(value)
        except textrules.TextError as error:
            self.error(f"{error.field}: {error.message}" if error.field else error.message)


class Slug(SlugField):
    """udata's SlugField, with a word for titles that slugify to nothing (emoji, invisible
    characters): a page must never link to an empty slug. Uniqueness suffixes as udata's."""

    def __init__(self, fallback: str = "item", **kwargs):
        self.fallback = fallback
        super().__init__(**kwargs)

    def slugify(self, value):
        slug = super().slugify(value)
        if value is not None and not slug:
            return self.fallback
        return slug


_WORD = re.compile(r"[a-z0-9]+")


def normalize_text(text: str) -> str:
    """Lower-case, accents removed: the form keywords and `q` searches are compared in."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def keywords_for(*texts: str | None) -> list[str]:
    """Distinct normalised words of `texts`, for prefix search without Mongo `$text`."""
    seen: dict[str, None] = {}
    for text in texts:
        for word in _WORD.findall(normalize_text(text or "")):
            if len(word) > 1:
                seen.setdefault(word, None)
    return list(seen)


def localized(obj: Any, name: str, lang: str | None) -> Any:
    """`obj.<name>_en` for an English reader when set, else the French `obj.<name>`."""
    if lang and lang != "fr":
        value = getattr(obj, f"{name}_{lang}", None)
        if value:
            return value
    return getattr(obj, name, None)


# ---------------------------------------------------------------------------------------------
# Embedded documents
# ---------------------------------------------------------------------------------------------


@generate_fields()
class Axis(EmbeddedDocument):
    number = field(Int(required=True, min_value=1), description="Number of the axis in the plan")
    title = field(Text("title", required=True), description="Title (French)")
    title_en = field(Text("title"), description="Title (English)")
    # Source-specific variants of the title (e.g. a shorter wording in another document).
    variants = field(FreeDict(), description="Other wordings of the title, by source")


@generate_fields()
class SourceDocument(EmbeddedDocument):
    title = field(Text("title", required=True))
    url = field(Text("url"))
    date = field(Text("short"), description="Date as printed in the document (free text)")
    publisher = field(Text("short"))
    kind = field(Text("short"), description="e.g. action_plan, self_assessment, irm_report")
    details = field(FreeDict(), description="Anything else the source says about the document")


@generate_fields()
class Contact(EmbeddedDocument):
    # No e-mail is ever published: the model has no place for one.
    name = field(Text("short"))
    role = field(Text("short"))


@generate_fields()
class ResourceRef(EmbeddedDocument):
    text = field(Text("text", required=True))
    urls = field(ListField(Text("url")))


@generate_fields()
class Milestone(EmbeddedDocument):
    number = field(
        Text("short", required=True),
        description="Number of the milestone in its commitment, e.g. 5.1 (stable; links use it)",
    )
    title = field(Text("title", required=True), description="Title (French)")
    title_en = field(Text("title"), description="Title (English)")
    ogp_title = field(Text("title"), description="Title on the OGP website, when it differs")
    sub_items = field(ListField(Text("text")))
    due = field(Text("short"), checks=[check_partial_date], description="Due date (YYYY[-MM[-DD]])")
    timing = field(Text("text"), description="Timing as printed in the plan (free text)")
    status = field(
        Text("short"), checks=[_choices_check(COMPLETION)], description="Completion (IRM scale)"
    )
    state = field(Text("text"), description="Progress as worded by the government")
    state_evidence = field(Text("text"))
    completed_on = field(Text("short"), checks=[check_partial_date])
    source = field(Text("short"), description="Where the milestone comes from in the source file")


@generate_fields()
class SubCommitment(EmbeddedDocument):
    number = field(Int(), description="Row of the sub-commitment in its table")
    ministry = field(Text("short"))
    text = field(Text("text", required=True))
    text_en = field(Text("text"))
    state = field(Text("text"), description="Progress as worded by the government")
    state_normalized = field(Text("short"), description="not_started|in_progress|limited|...")
    comment = field(Text("text"))
    added_outside_initial_plan = field(BooleanField(default=False))
    urls = field(ListField(Text("url")))
    links_without_url = field(ListField(Text("text")))
    note = field(Text("note"), description="Remark on the row by whoever transcribed it")


@generate_fields()
class IrmAssessment(EmbeddedDocument):
    """What the Independent Reporting Mechanism says: kept apart from the government's view."""

    verifiable = field(Text("short"))
    relevant_to_ogp_values = field(Text("short"))
    ambition = field(Text("text"))
    potential_impact = field(Text("text"))
    potential_impact_evidence = field(Text("text"))
    completion = field(Text("short"), checks=[_choices_check(COMPLETION)])
    completion_label = field(Text("text"), description="Completion as worded by the IRM")
    completion_source = field(Text("text"))
    early_results = field(Text("text"), description="Did it open government?")
    recommendation = field(Text("text"))
    midterm_next_steps = field(Text("text"))
    end_of_term_summary = field(Text("text"))
    reports = field(ListField(Text("text")))


@generate_fields()
class StatusChange(EmbeddedDocument):
    at = field(DateTimeField(required=True), readonly=True)
    by = field(ReferenceField("User"), readonly=True, allow_null=True)
    by_name = field(Text("short"), readonly=True, description="Display name kept if the user goes")
    status_from = field(Text("short"), readonly=True)
    status_to = field(Text("short"), readonly=True)
    rationale = field(Text("note", required=True), readonly=True)
    evidence_url = field(Text("url"), readonly=True)


@generate_fields()
class LinkSnapshot(EmbeddedDocument):
    """What a link pointed to when it was made, kept after the target is deleted."""

    title = field(Text("title"))
    slug = field(Text("short"))
    organization = field(Text("short"), description="Name of the owning organization or user")
    organization_id = field(Text("short"))
    page_url = field(Text("url"))
    api_url = field(Text("url"))
    # Hard-deleted targets keep showing their snapshot only if they were public: a private
    # dataset's title must not surface once udata itself forgets it.
    public = field(
        BooleanField(), description="Whether the target was public when last seen (link, sweep)"
    )


@generate_fields()
class HealthEvent(EmbeddedDocument):
    at = field(DateTimeField(required=True))
    health_from = field(Text("short"))
    health_to = field(Text("short"))
    reasons = field(ListField(Text("short")))


# ---------------------------------------------------------------------------------------------
# Documents
# ---------------------------------------------------------------------------------------------


class ActionPlanQuerySet(OwnedQuerySet):
    def published(self):
        return self(published=True)


@generate_fields(searchable=False)
class ActionPlan(Datetimed, Auditable, Linkable, Owned, Document[ActionPlanQuerySet]):
    verbose_name = _("action plan")

    country = field(
        Text("short", required=True, max_length=8),
        filterable={},
        description="OGP member (ISO 3166 code or local government name)",
    )
    title = field(Text("title", required=True), sortable=True, show_as_ref=True)
    title_en = field(Text("title"))
    slug = field(
        Slug(
            fallback="plan",
            max_length=255,
            required=True,
            populate_from="title",
            update=False,
            follow=True,
        ),
        readonly=True,
        auditable=False,
        show_as_ref=True,
    )
    cycle = field(Text("short"), filterable={}, description="OGP cycle, e.g. 2018-2020")
    start = field(Text("short"), checks=[check_partial_date], sortable=True)
    end = field(Text("short"), checks=[check_partial_date])
    presented_on = field(Text("short"), checks=[check_partial_date])
    status = field(Text("short"), checks=[_choices_check(PLAN_STATUS)], filterable={})
    description = field(Text("text"), markdown=True)
    description_en = field(Text("text"), markdown=True)
    axes = field(ListField(EmbeddedDocumentField(Axis)))
    documents = field(ListField(EmbeddedDocumentField(SourceDocument)))
    commitments_stated = field(Int(min_value=0), description="Number stated by the plan")
    published = field(BooleanField(default=False), filterable={})
    # Facts of the source file with no field of their own, kept verbatim (never dropped).
    source = field(FreeDict(), description="Source facts kept verbatim")

    meta = {
        "collection": "ogp_action_plan",
        # A unique slug: two plans created at once from one title cannot share a page (the
        # slug field picks a free slug by reading, which does not stop a concurrent insert).
        "indexes": [{"fields": ["slug"], "unique": True}, "country", "-start"]
        + Owned.meta["indexes"],
        "ordering": ["-start", "title"],
        "queryset_class": ActionPlanQuerySet,
        "auto_create_index_on_save": True,
    }

    after_save = Signal()
    on_create = Signal()
    on_update = Signal()
    on_delete = Signal()

    def __str__(self) -> str:
        return self.title or ""

    def self_web_url(self, **kwargs):
        return url_for("ogp.plan", slug=self.slug, _external=True)

    def self_api_url(self, **kwargs):
        return url_for("api.ogp_plan", plan=self.slug, _external=True)

    @property
    def commitments(self):
        return Commitment.objects(plan=self).order_by("number")

    @property
    def axes_by_number(self) -> dict[int, Axis]:
        return {axis.number: axis for axis in self.axes}


class CommitmentQuerySet(OwnedQuerySet):
    def published(self):
        return self(published=True)

    def search(self, q: str):
        """Prefix match on normalised words of titles, ids and institutions (no `$text`)."""
        words = keywords_for(q)
        if not words:
            return self
        # `$regex` strings, not the compiled patterns mongoengine's `__regex` sends: SecantusDB
        # matches no array element against a BSON regex. One `$and`: every word must match.
        return self(__raw__={"$and": [{"keywords": {"$regex": f"^{re.escape(w)}"}} for w in words]})


@generate_fields(searchable=False)
class Commitment(Datetimed, Auditable, Linkable, Owned, Document[CommitmentQuerySet]):
    verbose_name = _("commitment")

    plan = field(
        ReferenceField(ActionPlan, required=True, reverse_delete_rule=CASCADE),
        filterable={},
        description="Action plan id",
    )
    number = field(Int(required=True, min_value=1), sortable=True, description="Number in the plan")
    ogp_id = field(Text("short", regex=r"^[A-Z]{2,8}\d{2,5}$"), description="OGP id, e.g. FR0034")
    title = field(Text("title", required=True), sortable=True, show_as_ref=True)
    title_en = field(Text("title"))
    ogp_title = field(Text("title"), description="Title on the OGP website, when it differs")
    slug = field(
        Slug(
            fallback="commitment",
            max_length=120,
            required=True,
            populate_from="title",
            update=False,
            follow=True,
        ),
        readonly=True,
        auditable=False,
        show_as_ref=True,
    )
    axis = field(Int(min_value=1), description="Number of the plan axis")
    ambition = field(Text("text"), markdown=True, description="Ambition / description (French)")
    ambition_en = field(Text("text"), markdown=True)
    challenges = field(Text("text"), markdown=True, description="Problem addressed")
    challenges_en = field(Text("text"), markdown=True)
    lead_institutions = field(ListField(Text("short")))
    supporting_institutions = field(ListField(Text("short")))
    other_actors = field(ListField(Text("short")))
    policy_areas = field(ListField(Text("short")))
    ogp_values = field(ListField(Text("short")), checks=[_choices_check(OGP_VALUES, False)])
    start_date = field(Text("short"), checks=[check_partial_date])
    end_date = field(Text("short"), checks=[check_partial_date])

    # The government's own assessment.
    status = field(
        Text("short"),
        checks=[_choices_check(COMPLETION)],
        readonly=True,
        description="Completion on the IRM scale; changed through the status endpoint",
    )
    status_evidence = field(Text("text"), readonly=True)
    results = field(Text("text"), markdown=True)
    results_en = field(Text("text"), markdown=True)
    schedule_respected = field(Text("text"), markdown=True)
    next_steps = field(Text("text"), markdown=True)
    next_steps_en = field(Text("text"), markdown=True)
    additional_information = field(Text("text"), markdown=True)
    resources = field(ListField(EmbeddedDocumentField(ResourceRef)))
    urls = field(ListField(Text("url")))
    contact = field(EmbeddedDocumentField(Contact), allow_null=True)
    contacts = field(ListField(EmbeddedDocumentField(Contact)))
    based_on = field(Text("text"), description="Lineage: earlier commitments this one builds on")
    based_on_ids = field(ListField(Text("short")), description="OGP ids of those commitments")

    irm = field(EmbeddedDocumentField(IrmAssessment), allow_null=True)
    milestones = field(ListField(EmbeddedDocumentField(Milestone)))
    sub_commitments = field(ListField(EmbeddedDocumentField(SubCommitment)))
    status_history = field(ListField(EmbeddedDocumentField(StatusChange)), readonly=True)

    published = field(BooleanField(default=False), filterable={})
    source = field(FreeDict(), description="Source facts kept verbatim")

    # Derived, for `q` search and the health roll-up; maintained by the plugin.
    # Not checked as text: derived from checked fields, and a refused title must not be
    # reported twice (once more as a keyword).
    keywords = ListField(StringField())
    health_counts = field(FreeDict(), readonly=True, description="Links by health")
    at_risk = field(BooleanField(default=False), readonly=True, filterable={})
    # Deliverables by state and the discrepancy with `status`, kept by the delivery sweep:
    # {"deliverables", "met", "pending", "at_risk", "breached", "unknown", "summary",
    #  "discrepancy"} (see constants.VERIFICATION_SUMMARIES, DISCREPANCIES).
    verification = field(FreeDict(), readonly=True, description="Deliverables verified by data")

    meta = {
        "collection": "ogp_commitment",
        "indexes": [
            {"fields": ["ogp_id"], "unique": True, "sparse": True},
            {"fields": ["plan", "number"], "unique": True},
            "slug",
            "keywords",
            "status",
            "lead_institutions",
            "policy_areas",
            "verification.summary",
        ]
        + Owned.meta["indexes"],
        "ordering": ["plan", "number"],
        "queryset_class": CommitmentQuerySet,
        "auto_create_index_on_save": True,
    }

    after_save = Signal()
    on_create = Signal()
    on_update = Signal()
    on_delete = Signal()

    def __str__(self) -> str:
        return self.title or ""

    def clean(self) -> None:
        super().clean()
        if self.ogp_id == "":
            self.ogp_id = None
        if self.status == "":
            self.status = None
        numbers = [m.number for m in self.milestones]
        if len(numbers) != len(set(numbers)):
            raise FieldValidationError(_("Milestone numbers must be unique."), field="milestones")
        self.keywords = keywords_for(
            self.title,
            self.title_en,
            self.ogp_title,
            self.ogp_id,
            " ".join(self.lead_institutions or []),
            " ".join(self.supporting_institutions or []),
            " ".join(self.policy_areas or []),
            str(self.number or ""),
        )

    def milestone(self, number: str) -> Milestone | None:
        return next((m for m in self.milestones if m.number == number), None)

    def self_web_url(self, **kwargs):
        return url_for("ogp.commitment", slug=self.slug, _external=True)

    def self_api_url(self, **kwargs):
        return url_for("api.ogp_commitment", commitment=self.slug, _external=True)


class CommitmentLinkQuerySet(OwnedQuerySet):
    def for_target(self, target_class: str, target_id) -> CommitmentLinkQuerySet:
        """Links to one dataset, reuse or dataservice: one query on an index."""
        return self(target_class=target_class, target_id=ObjectId(str(target_id)))

    def for_plan(self, plan) -> CommitmentLinkQuerySet:
        """Links of a plan's commitments, through the commitment index (`plan` has none)."""
        return self(commitment__in=Commitment.objects(plan=plan).distinct("id"))


@generate_fields(searchable=False)
class CommitmentLink(Datetimed, Document[CommitmentLinkQuerySet]):
    """A commitment (or one of its milestones) served by a dataset, reuse or dataservice.

    The target is stored as class name + id, not a GenericReferenceField: the reverse look-up
    then needs a plain compound index (every backend supports it) and a hard-deleted target
    leaves a link that still reads, with its snapshot.
    """

    commitment = field(
        ReferenceField(Commitment, required=True, reverse_delete_rule=CASCADE), readonly=True
    )
    plan = field(ReferenceField(ActionPlan, reverse_delete_rule=CASCADE), readonly=True)
    milestone = field(Text("short"), description="Number of the milestone served, if any")
    target_class = field(Text("short", choices=TARGET_CLASSES), readonly=True)
    target_id = field(ObjectIdField(), readonly=True)
    title = field(Text("title"), description="Title of data expected but not yet published")
    role = field(
        Text("short", required=True, default="fulfils"), checks=[_choices_check(LINK_ROLES, False)]
    )
    note = field(Text("note"), markdown=True, description="Why it is linked (French)")
    note_en = field(Text("note"), markdown=True)
    source = field(
        Text("short", default="manual"), readonly=True, checks=[_choices_check(LINK_SOURCES, False)]
    )
    linked_by = field(
        ReferenceField("User", reverse_delete_rule=NULLIFY), readonly=True, allow_null=True
    )
    snapshot = field(EmbeddedDocumentField(LinkSnapshot), readonly=True, allow_null=True)
    # A stricter update frequency than the dataset declares, promised by the commitment.
    promised_frequency = field(Text("short"))

    # Health, filled by the link sweep (udata_ogp.tasks).
    health = field(Text("short", default="unknown", choices=list(HEALTH)), readonly=True)
    reasons = field(ListField(Text("short")), readonly=True)
    checked_at = field(DateTimeField(), readonly=True)
    health_since = field(DateTimeField(), readonly=True)
    first_failure = field(DateTimeField(), readonly=True)
    last_ok = field(DateTimeField(), readonly=True)
    failure_count = field(Int(default=0), readonly=True)
    health_history = field(ListField(EmbeddedDocumentField(HealthEvent)), readonly=True)
    notified_at = DateTimeField()

    meta = {
        "collection": "ogp_commitment_link",
        "indexes": [
            # One link per commitment, target and role (any number of expected data, which
            # have no target); also a commitment's links, by its prefix.
            {
                "fields": ["commitment", "target_id", "target_class", "role"],
                "unique": True,
                "partialFilterExpression": {"target_id": {"$type": "objectId"}},
            },
            # Reverse look-up: which commitments a dataset, reuse or dataservice serves.
            ("target_id", "target_class"),
            # Deliberately no more: each index costs every link write, and a first sweep writes
            # every link (bench/sweep.py on SecantusDB: 6 -> 3 indexes, first sweep 16.9 -> 13.0 s).
            # Plan queries go through the commitments (`for_plan`); health filters scan the
            # links of a commitment.
        ],
        "ordering": ["created_at"],
        "queryset_class": CommitmentLinkQuerySet,
        "auto_create_index_on_save": True,
    }

    @property
    def expected(self) -> bool:
        return self.target_id is None

    def clean(self) -> None:
        super().clean()
        if (self.target_class is None) != (self.target_id is None):
            raise FieldValidationError(_("A target needs both a class and an id."), field="element")
        if self.target_id is None and not self.title:
            raise FieldValidationError(_("A link to expected data needs a title."), field="title")
        if self.commitment and self.plan is None:
            self.plan = self.commitment.plan


# ---------------------------------------------------------------------------------------------
# Deliverables: what data must exist for a commitment (or a milestone) to count as delivered
# ---------------------------------------------------------------------------------------------


@generate_fields()
class DeliverableRules(EmbeddedDocument):
    """What any matching portal dataset satisfies: every key set must hold.

    A rule set names at least one of `organizations`, `tags` or `schema` (checked by the
    deliverable): the sweep finds candidates through those, never by scanning the portal.
    """

    organizations = field(ListField(Text("short")), description="Organization ids (any of)")
    tags = field(ListField(Text("short")), description="Tags (all of)")
    schema = field(Text("short"), description="Name of a resource schema (udata's resource.schema)")
    open_license = field(BooleanField(), description="Whether the licence must be an open one")
    formats = field(ListField(Text("short")), description="Resource formats (any of)")
    min_resources = field(Int(min_value=0), description="Least number of resources")
    frequency = field(
        Text("short"), description="A udata frequency id: the declared one at least as frequent"
    )
    fresh = field(BooleanField(), description="Whether the dataset must not be overdue")

    def narrowed(self) -> bool:
        return bool(self.organizations or self.tags or self.schema)


@generate_fields()
class DeliveryMatch(EmbeddedDocument):
    """A public, live portal object that satisfies a deliverable now (as the sweep last saw it)."""

    target_class = field(Text("short", choices=TARGET_CLASSES))
    target_id = field(ObjectIdField())
    snapshot = field(EmbeddedDocumentField(LinkSnapshot), allow_null=True)
    # Why a match is weak (e.g. `overdue`): a deliverable met only by stale objects is at risk.
    reasons = field(ListField(Text("short")))


@generate_fields()
class ProofResource(EmbeddedDocument):
    url = field(Text("url"))
    title = field(Text("title"))
    format = field(Text("short"))
    checksum = field(Text("short"), description="udata-hydra's analysis:checksum, if any")


@generate_fields()
class ProofItem(EmbeddedDocument):
    """One object as it was when the proof was frozen: it reads after the object is deleted."""

    target_class = field(Text("short", choices=TARGET_CLASSES))
    target_id = field(ObjectIdField())
    snapshot = field(EmbeddedDocumentField(LinkSnapshot), allow_null=True)
    license = field(Text("short"))
    last_update = field(DateTimeField())
    resources = field(ListField(EmbeddedDocumentField(ProofResource)))


@generate_fields()
class Proof(EmbeddedDocument):
    at = field(DateTimeField(required=True), description="When the deliverable was met")
    items = field(ListField(EmbeddedDocumentField(ProofItem)))


@generate_fields()
class DeliverableEvent(EmbeddedDocument):
    """A change of state. A delivery (to `met`) carries its proof; a withdrawal says why."""

    at = field(DateTimeField(required=True))
    state_from = field(Text("short"))
    state_to = field(Text("short"))
    reasons = field(ListField(Text("short")))
    proof = field(EmbeddedDocumentField(Proof), allow_null=True)


class DeliverableQuerySet(OwnedQuerySet):
    pass


@generate_fields(searchable=False)
class Deliverable(Datetimed, Document[DeliverableQuerySet]):
    """What data must exist for a commitment, or one of its milestones, to count as delivered:
    one specific object (`target_class` + `target_id`) or `rules` any dataset may satisfy."""

    commitment = field(
        ReferenceField(Commitment, required=True, reverse_delete_rule=CASCADE), readonly=True
    )
    plan = field(ReferenceField(ActionPlan, reverse_delete_rule=CASCADE), readonly=True)
    milestone = field(Text("short"), description="Number of the milestone it delivers, if any")
    title = field(Text("title", required=True), description="What the plan promised (French)")
    title_en = field(Text("title"))
    due = field(Text("short"), checks=[check_partial_date], description="Due date (YYYY[-MM[-DD]])")
    note = field(Text("note"), markdown=True)
    note_en = field(Text("note"), markdown=True)
    target_class = field(Text("short", choices=TARGET_CLASSES))
    target_id = field(ObjectIdField())
    rules = field(EmbeddedDocumentField(DeliverableRules), allow_null=True)
    created_by = field(
        ReferenceField("User", reverse_delete_rule=NULLIFY), readonly=True, allow_null=True
    )

    # Filled by the delivery sweep (udata_ogp.delivery).
    state = field(Text("short", default="unknown", choices=list(DELIVERABLE_STATES)), readonly=True)
    state_since = field(DateTimeField(), readonly=True)
    reasons = field(ListField(Text("short")), readonly=True)
    checked_at = field(DateTimeField(), readonly=True)
    first_failure = field(DateTimeField(), readonly=True)
    failure_count = field(Int(default=0), readonly=True)
    matches = field(ListField(EmbeddedDocumentField(DeliveryMatch)), readonly=True)
    # `delivery.rules.matches_digest` of `matches`: the sweep compares it, not the matches.
    matches_digest = field(Text("short"), readonly=True)
    # The proof of the current (or last) delivery; every delivery's proof is in `history`.
    proof = field(EmbeddedDocumentField(Proof), readonly=True, allow_null=True)
    delivered_at = field(DateTimeField(), readonly=True, description="First time it was met")
    history = field(ListField(EmbeddedDocumentField(DeliverableEvent)), readonly=True)

    meta = {
        "collection": "ogp_deliverable",
        "indexes": ["commitment", ("target_id", "target_class")],
        "ordering": ["created_at"],
        "queryset_class": DeliverableQuerySet,
        "auto_create_index_on_save": True,
    }

    def __str__(self) -> str:
        return self.title or ""

    def clean(self) -> None:
        super().clean()
        if (self.target_class is None) != (self.target_id is None):
            raise FieldValidationError(_("A target needs both a class and an id."), field="element")
        has_rules = self.rules is not None and any(
            value not in (None, [], "") for value in self.rules.to_mongo().values()
        )
        if self.target_id is None and not has_rules:
            raise FieldValidationError(
                _("A deliverable needs a target (element) or rules."), field="rules"
            )
        if self.target_id is not None and has_rules:
            raise FieldValidationError(
                _("A deliverable has either a target (element) or rules, not both."),
                field="rules",
            )
        if has_rules and not self.rules.narrowed():
            raise FieldValidationError(
                _("Rules must name organizations, tags or a schema."), field="rules"
            )
        if self.commitment and self.plan is None:
            self.plan = self.commitment.plan


class ProposalQuerySet(OwnedQuerySet):
    def open(self):
        return self(state="open")


@generate_fields(searchable=False)
class Proposal(Datetimed, Document[ProposalQuerySet]):
    """Something proposed to a commitment's editors, who accept or reject it: the review queue.

    `key` is unique per subject and object, so that a rejected proposal is never made again.
    """

    commitment = field(
        ReferenceField(Commitment, required=True, reverse_delete_rule=CASCADE), readonly=True
    )
    kind = field(Text("short", choices=list(PROPOSAL_KINDS)), readonly=True)
    deliverable = field(
        ReferenceField(Deliverable, reverse_delete_rule=CASCADE), readonly=True, allow_null=True
    )
    link = field(
        ReferenceField(CommitmentLink, reverse_delete_rule=CASCADE), readonly=True, allow_null=True
    )
    target_class = field(Text("short", choices=TARGET_CLASSES), readonly=True)
    target_id = field(ObjectIdField(), readonly=True)
    snapshot = field(EmbeddedDocumentField(LinkSnapshot), readonly=True, allow_null=True)
    # Why it is proposed (e.g. `similar_title`, `rule_failed:schema`).
    reasons = field(ListField(Text("short")), readonly=True)
    state = field(Text("short", default="open", choices=list(PROPOSAL_STATES)), readonly=True)
    decided_by = field(
        ReferenceField("User", reverse_delete_rule=NULLIFY), readonly=True, allow_null=True
    )
    decided_at = field(DateTimeField(), readonly=True)
    reason = field(Text("note"), readonly=True, description="Why it was accepted or rejected")
    key = Text("short", required=True)

    meta = {
        "collection": "ogp_proposal",
        "indexes": [{"fields": ["key"], "unique": True}, ("commitment", "state")],
        "ordering": ["-created_at"],
        "queryset_class": ProposalQuerySet,
        "auto_create_index_on_save": True,
    }

    @staticmethod
    def key_for(kind: str, subject_id, target_class: str, target_id) -> str:
        return f"{kind}:{subject_id}:{target_class}:{target_id}"


post_save.connect(ActionPlan.post_save, sender=ActionPlan)
post_save.connect(Commitment.post_save, sender=Commitment)
