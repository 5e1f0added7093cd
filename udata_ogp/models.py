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

from udata_ogp.constants import (
    COMPLETION,
    HEALTH,
    LINK_ROLES,
    LINK_SOURCES,
    OGP_VALUES,
    PLAN_STATUS,
    TARGET_CLASSES,
)

__all__ = (
    "ActionPlan",
    "Axis",
    "Commitment",
    "CommitmentLink",
    "Contact",
    "HealthEvent",
    "IrmAssessment",
    "LinkSnapshot",
    "Milestone",
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
    number = field(
        IntField(required=True, min_value=1), description="Number of the axis in the plan"
    )
    title = field(StringField(required=True), description="Title (French)")
    title_en = field(StringField(), description="Title (English)")
    # Source-specific variants of the title (e.g. a shorter wording in another document).
    variants = field(DictField(), description="Other wordings of the title, by source")


@generate_fields()
class SourceDocument(EmbeddedDocument):
    title = field(StringField(required=True))
    url = field(StringField())
    date = field(StringField(), description="Date as printed in the document (free text)")
    publisher = field(StringField())
    kind = field(StringField(), description="e.g. action_plan, self_assessment, irm_report")
    details = field(DictField(), description="Anything else the source says about the document")


@generate_fields()
class Contact(EmbeddedDocument):
    # No e-mail is ever published: the model has no place for one.
    name = field(StringField())
    role = field(StringField())


@generate_fields()
class ResourceRef(EmbeddedDocument):
    text = field(StringField(required=True))
    urls = field(ListField(StringField()))


@generate_fields()
class Milestone(EmbeddedDocument):
    number = field(
        StringField(required=True),
        description="Number of the milestone in its commitment, e.g. 5.1 (stable; links use it)",
    )
    title = field(StringField(required=True), description="Title (French)")
    title_en = field(StringField(), description="Title (English)")
    ogp_title = field(StringField(), description="Title on the OGP website, when it differs")
    sub_items = field(ListField(StringField()))
    due = field(StringField(), checks=[check_partial_date], description="Due date (YYYY[-MM[-DD]])")
    timing = field(StringField(), description="Timing as printed in the plan (free text)")
    status = field(
        StringField(), checks=[_choices_check(COMPLETION)], description="Completion (IRM scale)"
    )
    state = field(StringField(), description="Progress as worded by the government")
    state_evidence = field(StringField())
    completed_on = field(StringField(), checks=[check_partial_date])
    source = field(StringField(), description="Where the milestone comes from in the source file")


@generate_fields()
class SubCommitment(EmbeddedDocument):
    number = field(IntField(), description="Row of the sub-commitment in its table")
    ministry = field(StringField())
    text = field(StringField(required=True))
    text_en = field(StringField())
    state = field(StringField(), description="Progress as worded by the government")
    state_normalized = field(StringField(), description="not_started|in_progress|limited|...")
    comment = field(StringField())
    added_outside_initial_plan = field(BooleanField(default=False))
    urls = field(ListField(StringField()))
    links_without_url = field(ListField(StringField()))
    note = field(StringField(), description="Remark on the row by whoever transcribed it")


@generate_fields()
class IrmAssessment(EmbeddedDocument):
    """What the Independent Reporting Mechanism says: kept apart from the government's view."""

    verifiable = field(StringField())
    relevant_to_ogp_values = field(StringField())
    ambition = field(StringField())
    potential_impact = field(StringField())
    potential_impact_evidence = field(StringField())
    completion = field(StringField(), checks=[_choices_check(COMPLETION)])
    completion_label = field(StringField(), description="Completion as worded by the IRM")
    completion_source = field(StringField())
    early_results = field(StringField(), description="Did it open government?")
    recommendation = field(StringField())
    midterm_next_steps = field(StringField())
    end_of_term_summary = field(StringField())
    reports = field(ListField(StringField()))


@generate_fields()
class StatusChange(EmbeddedDocument):
    at = field(DateTimeField(required=True), readonly=True)
    by = field(ReferenceField("User"), readonly=True, allow_null=True)
    by_name = field(StringField(), readonly=True, description="Display name kept if the user goes")
    status_from = field(StringField(), readonly=True)
    status_to = field(StringField(), readonly=True)
    rationale = field(StringField(required=True), readonly=True)
    evidence_url = field(StringField(), readonly=True)


@generate_fields()
class LinkSnapshot(EmbeddedDocument):
    """What a link pointed to when it was made, kept after the target is deleted."""

    title = field(StringField())
    slug = field(StringField())
    organization = field(StringField(), description="Name of the owning organization or user")
    organization_id = field(StringField())
    page_url = field(StringField())
    api_url = field(StringField())
    # Hard-deleted targets keep showing their snapshot only if they were public: a private
    # dataset's title must not surface once udata itself forgets it.
    public = field(
        BooleanField(), description="Whether the target was public when last seen (link, sweep)"
    )


@generate_fields()
class HealthEvent(EmbeddedDocument):
    at = field(DateTimeField(required=True))
    health_from = field(StringField())
    health_to = field(StringField())
    reasons = field(ListField(StringField()))


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
        StringField(required=True, max_length=8),
        filterable={},
        description="OGP member (ISO 3166 code or local government name)",
    )
    title = field(StringField(required=True), sortable=True, show_as_ref=True)
    title_en = field(StringField())
    slug = field(
        SlugField(max_length=255, required=True, populate_from="title", update=False, follow=True),
        readonly=True,
        auditable=False,
        show_as_ref=True,
    )
    cycle = field(StringField(), filterable={}, description="OGP cycle, e.g. 2018-2020")
    start = field(StringField(), checks=[check_partial_date], sortable=True)
    end = field(StringField(), checks=[check_partial_date])
    presented_on = field(StringField(), checks=[check_partial_date])
    status = field(StringField(), checks=[_choices_check(PLAN_STATUS)], filterable={})
    description = field(StringField(), markdown=True)
    description_en = field(StringField(), markdown=True)
    axes = field(ListField(EmbeddedDocumentField(Axis)))
    documents = field(ListField(EmbeddedDocumentField(SourceDocument)))
    commitments_stated = field(IntField(min_value=0), description="Number stated by the plan")
    published = field(BooleanField(default=False), filterable={})
    # Facts of the source file with no field of their own, kept verbatim (never dropped).
    source = field(DictField(), description="Source facts kept verbatim")

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
    number = field(
        IntField(required=True, min_value=1), sortable=True, description="Number in the plan"
    )
    ogp_id = field(StringField(regex=r"^[A-Z]{2,8}\d{2,5}$"), description="OGP id, e.g. FR0034")
    title = field(StringField(required=True), sortable=True, show_as_ref=True)
    title_en = field(StringField())
    ogp_title = field(StringField(), description="Title on the OGP website, when it differs")
    slug = field(
        SlugField(max_length=120, required=True, populate_from="title", update=False, follow=True),
        readonly=True,
        auditable=False,
        show_as_ref=True,
    )
    axis = field(IntField(min_value=1), description="Number of the plan axis")
    ambition = field(StringField(), markdown=True, description="Ambition / description (French)")
    ambition_en = field(StringField(), markdown=True)
    challenges = field(StringField(), markdown=True, description="Problem addressed")
    challenges_en = field(StringField(), markdown=True)
    lead_institutions = field(ListField(StringField()))
    supporting_institutions = field(ListField(StringField()))
    other_actors = field(ListField(StringField()))
    policy_areas = field(ListField(StringField()))
    ogp_values = field(ListField(StringField()), checks=[_choices_check(OGP_VALUES, False)])
    start_date = field(StringField(), checks=[check_partial_date])
    end_date = field(StringField(), checks=[check_partial_date])

    # The government's own assessment.
    status = field(
        StringField(),
        checks=[_choices_check(COMPLETION)],
        readonly=True,
        description="Completion on the IRM scale; changed through the status endpoint",
    )
    status_evidence = field(StringField(), readonly=True)
    results = field(StringField(), markdown=True)
    results_en = field(StringField(), markdown=True)
    schedule_respected = field(StringField(), markdown=True)
    next_steps = field(StringField(), markdown=True)
    next_steps_en = field(StringField(), markdown=True)
    additional_information = field(StringField(), markdown=True)
    resources = field(ListField(EmbeddedDocumentField(ResourceRef)))
    urls = field(ListField(StringField()))
    contact = field(EmbeddedDocumentField(Contact), allow_null=True)
    contacts = field(ListField(EmbeddedDocumentField(Contact)))
    based_on = field(StringField(), description="Lineage: earlier commitments this one builds on")
    based_on_ids = field(ListField(StringField()), description="OGP ids of those commitments")

    irm = field(EmbeddedDocumentField(IrmAssessment), allow_null=True)
    milestones = field(ListField(EmbeddedDocumentField(Milestone)))
    sub_commitments = field(ListField(EmbeddedDocumentField(SubCommitment)))
    status_history = field(ListField(EmbeddedDocumentField(StatusChange)), readonly=True)

    published = field(BooleanField(default=False), filterable={})
    source = field(DictField(), description="Source facts kept verbatim")

    # Derived, for `q` search and the health roll-up; maintained by the plugin.
    keywords = ListField(StringField())
    health_counts = field(DictField(), readonly=True, description="Links by health")
    at_risk = field(BooleanField(default=False), readonly=True, filterable={})

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
    milestone = field(StringField(), description="Number of the milestone served, if any")
    target_class = field(StringField(choices=TARGET_CLASSES), readonly=True)
    target_id = field(ObjectIdField(), readonly=True)
    title = field(StringField(), description="Title of data expected but not yet published")
    role = field(
        StringField(required=True, default="fulfils"), checks=[_choices_check(LINK_ROLES, False)]
    )
    note = field(StringField(), markdown=True, description="Why it is linked (French)")
    note_en = field(StringField(), markdown=True)
    source = field(
        StringField(default="manual"), readonly=True, checks=[_choices_check(LINK_SOURCES, False)]
    )
    linked_by = field(
        ReferenceField("User", reverse_delete_rule=NULLIFY), readonly=True, allow_null=True
    )
    snapshot = field(EmbeddedDocumentField(LinkSnapshot), readonly=True, allow_null=True)
    # A stricter update frequency than the dataset declares, promised by the commitment.
    promised_frequency = field(StringField())

    # Health, filled by the link sweep (udata_ogp.tasks).
    health = field(StringField(default="unknown", choices=list(HEALTH)), readonly=True)
    reasons = field(ListField(StringField()), readonly=True)
    checked_at = field(DateTimeField(), readonly=True)
    health_since = field(DateTimeField(), readonly=True)
    first_failure = field(DateTimeField(), readonly=True)
    last_ok = field(DateTimeField(), readonly=True)
    failure_count = field(IntField(default=0), readonly=True)
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


post_save.connect(ActionPlan.post_save, sender=ActionPlan)
post_save.connect(Commitment.post_save, sender=Commitment)
