"""factory-boy factories for tests, benches and the demo, on udata's own `ModelFactory`."""

from __future__ import annotations

import factory
from udata.core.dataset.factories import DatasetFactory
from udata.factories import ModelFactory

from udata_ogp.models import (
    ActionPlan,
    Commitment,
    CommitmentLink,
    Deliverable,
    DeliverableRules,
    Milestone,
    Proposal,
)


class ActionPlanFactory(ModelFactory):
    class Meta:
        model = ActionPlan

    country = "FR"
    title = factory.Sequence(lambda n: f"Plan d'action {2016 + n}-{2018 + n}")
    start = "2018"
    end = "2020"
    cycle = "2018-2020"
    published = True


class MilestoneFactory(factory.Factory):
    class Meta:
        model = Milestone

    number = factory.Sequence(lambda n: f"1.{n + 1}")
    title = factory.Faker("sentence")


class CommitmentFactory(ModelFactory):
    class Meta:
        model = Commitment

    plan = factory.SubFactory(ActionPlanFactory)
    number = factory.Sequence(lambda n: n + 1)
    title = factory.Faker("sentence")
    ambition = factory.Faker("paragraph")
    lead_institutions = factory.LazyFunction(lambda: ["Direction interministérielle du numérique"])
    published = True


class CommitmentLinkFactory(ModelFactory):
    """A link to a fresh dataset; `target=` links an existing dataset, reuse or dataservice."""

    class Meta:
        model = CommitmentLink
        exclude = ("target",)

    commitment = factory.SubFactory(CommitmentFactory)
    target = factory.SubFactory(DatasetFactory)
    target_class = factory.LazyAttribute(lambda o: type(o.target).__name__)
    target_id = factory.LazyAttribute(lambda o: o.target.id)
    role = "fulfils"
    note = factory.Faker("sentence")

    @factory.post_generation
    def with_snapshot(obj, create, extracted, **kwargs):
        from udata_ogp.targets import snapshot_of, target_model

        if obj.target_id is not None and obj.snapshot is None:
            target = target_model(obj.target_class).objects(id=obj.target_id).first()
            if target is not None:
                obj.snapshot = snapshot_of(target)
                if create:
                    obj.save()


class DeliverableFactory(ModelFactory):
    """A deliverable met by one fresh dataset; `target=` another object, `rules=` rules instead."""

    class Meta:
        model = Deliverable
        exclude = ("target",)

    commitment = factory.SubFactory(CommitmentFactory)
    title = factory.Faker("sentence")
    target = factory.SubFactory(DatasetFactory)
    target_class = factory.LazyAttribute(lambda o: type(o.target).__name__ if o.target else None)
    target_id = factory.LazyAttribute(lambda o: o.target.id if o.target else None)


class DeliverableRulesFactory(factory.Factory):
    class Meta:
        model = DeliverableRules

    tags = factory.LazyFunction(lambda: ["ogp-demo"])


class ProposalFactory(ModelFactory):
    """An open proposal of a fresh dataset for a deliverable with rules."""

    class Meta:
        model = Proposal
        exclude = ("target",)

    deliverable = factory.SubFactory(
        DeliverableFactory, target=None, rules=factory.SubFactory(DeliverableRulesFactory)
    )
    commitment = factory.LazyAttribute(lambda o: o.deliverable.commitment)
    kind = "deliverable_target"
    target = factory.SubFactory(DatasetFactory)
    target_class = factory.LazyAttribute(lambda o: type(o.target).__name__)
    target_id = factory.LazyAttribute(lambda o: o.target.id)
    key = factory.LazyAttribute(
        lambda o: Proposal.key_for(o.kind, o.deliverable.id, o.target_class, o.target_id)
    )
