"""Fuzz every /api/1/ogp/ operation of udata's swagger with schemathesis: never a 5xx.

Each operation is run with generated data that fits the documented schema (positive) and
data that does not (negative), once with generated path parameters and once with the ids
of real objects (so that the handlers, not only the look-ups, see the junk), as an
administrator (API key) so that every write route gets past authentication.
The number of cases sent is printed (`-s`) and checked against a floor.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode
from udata.core.api_token.models import ApiToken
from udata.core.dataset.factories import DatasetFactory
from udata.core.user.factories import AdminFactory

from tests import OgpAPITestCase
from udata_ogp.factories import (
    ActionPlanFactory,
    CommitmentFactory,
    CommitmentLinkFactory,
    MilestoneFactory,
)

# Per operation, mode and kind of path parameters; 2 modes × 2 kinds × ~18 operations.
EXAMPLES = int(os.environ.get("OGP_FUZZ_EXAMPLES", "12"))


def ogp_schema(spec: dict):
    schema = schemathesis.openapi.from_dict(spec)
    return schema.include(path_regex="^/ogp/")


class FuzzApiTest(OgpAPITestCase):
    def test_no_server_error_on_any_ogp_route(self, app):
        admin = AdminFactory()
        _, key = ApiToken.generate(admin)
        headers = {"X-API-KEY": key}
        spec = self.get("/api/1/swagger.json").json
        schema = ogp_schema(spec)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 18, [op.label for op in operations]

        sent = {"cases": 0}
        failures: list[str] = []
        skipped: list[str] = []
        statuses: Counter = Counter()

        def real_ids() -> dict[str, str]:
            dataset = DatasetFactory()
            commitment = CommitmentFactory(
                plan=ActionPlanFactory(), milestones=[MilestoneFactory(number="1.1")]
            )
            link = CommitmentLinkFactory(commitment=commitment, target=dataset)
            return {
                "plan": str(commitment.plan.id),
                "commitment": str(commitment.id),
                "link": str(link.id),
            }

        ids = real_ids()

        for operation in operations:
            names = {p.name for p in operation.path_parameters}
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                for fixed in (False, True):
                    if fixed and not names:
                        continue
                    path_parameters = {k: v for k, v in ids.items() if k in names} if fixed else {}
                    strategy = operation.as_strategy(
                        generation_mode=mode, path_parameters=path_parameters or None
                    )

                    @settings(
                        max_examples=EXAMPLES,
                        deadline=None,
                        database=None,
                        phases=[Phase.explicit, Phase.generate],
                        suppress_health_check=list(HealthCheck),
                    )
                    @given(case=strategy)
                    def run(case):
                        sent["cases"] += 1
                        response = case.call(app=app, headers=headers)
                        statuses[response.status_code] += 1
                        if response.status_code >= 500:
                            failures.append(
                                f"{case.operation.label} {response.status_code}: "
                                f"{case.as_curl_command(headers=headers)}"
                            )

                    try:
                        run()
                    except Unsatisfiable:
                        # Negative mode with every parameter fixed: nothing left to break.
                        skipped.append(f"{operation.label} [{mode}]")
                    if fixed and operation.method.upper() == "DELETE":
                        ids = real_ids()

        print(f"\nschemathesis: {sent['cases']} cases over {len(operations)} operations")
        print(f"statuses: {dict(sorted(statuses.items()))}")
        print(f"nothing to generate for: {skipped}")
        assert not failures, "\n".join(failures[:20])
        assert sent["cases"] >= len(operations) * EXAMPLES


@pytest.mark.parametrize("spec_path", ["/api/1/swagger.json"])
class SpecLoadsTest(OgpAPITestCase):
    def test_schemathesis_reads_the_ogp_operations(self, spec_path):
        schema = ogp_schema(self.get(spec_path).json)
        labels = {result.ok().label for result in schema.get_all_operations()}
        assert "POST /ogp/commitments/{commitment}/links/" in labels
        assert "GET /ogp/links/" in labels
