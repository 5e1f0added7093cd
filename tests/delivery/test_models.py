import pytest
from mongoengine.errors import ValidationError
from udata.mongo.errors import FieldValidationError

from tests import OgpDBTestCase
from udata_ogp.factories import DeliverableFactory, ProposalFactory
from udata_ogp.models import DeliverableRules


class FactTest(OgpDBTestCase):
    def test_fact(self):
        d = DeliverableFactory()
        assert d.plan == d.commitment.plan and d.state == "unknown"
        p = ProposalFactory()
        assert p.deliverable.rules.tags == ["ogp-demo"] and p.state == "open"
        with pytest.raises((FieldValidationError, ValidationError)):
            DeliverableFactory(target=None)
        with pytest.raises((FieldValidationError, ValidationError)):
            DeliverableFactory(target=None, rules=DeliverableRules(formats=["csv"]))
