"""Import and export of action plans through the API: administrators only, all or nothing."""

from __future__ import annotations

import io
import json
from importlib.resources import files
from pathlib import Path

import pytest
from udata.core.user.factories import AdminFactory, UserFactory

from tests import OgpAPITestCase
from udata_ogp.factories import ActionPlanFactory
from udata_ogp.models import ActionPlan, Commitment

API = "/api/1/ogp"
REFERENCE = files("udata_ogp.data").joinpath("fr-action-plan-2018-2020.json").read_bytes()
DATA = Path(__file__).parent.parent / "data"


class ImportExportApiTest(OgpAPITestCase):
    def post_raw(self, url: str, content: bytes, content_type: str = "application/json"):
        headers = {"Content-Type": content_type}
        if self._user:
            headers["X-API-KEY"] = self._api_key
        return self.client.post(url, data=content, headers=headers)

    def test_import_json_body_then_export(self):
        with self.api_user(AdminFactory()):
            response = self.post_raw(f"{API}/plans/import/", REFERENCE)
            assert response.status_code == 201, response.json
            report = response.json["report"]
            assert len(report["created"]) == 22 and report["dry_run"] is False
            plan = ActionPlan.objects.get()
            assert Commitment.objects(plan=plan).count() == 21

            again = self.post_raw(f"{API}/plans/import/", REFERENCE)
            assert again.status_code == 200
            assert again.json["report"]["created"] == []

            exported = self.get(f"{API}/plans/{plan.slug}/export/?format=json")
            assert exported.status_code == 200
            assert exported.mimetype == "application/json"
            assert json.loads(exported.data)["plan"]["title"] == plan.title
            csv = self.get(f"{API}/plans/{plan.id}/export/?format=csv")
            assert csv.status_code == 200 and csv.mimetype == "text/csv"
            assert self.get(f"{API}/plans/{plan.id}/export/?format=xml").status_code == 400

    def test_import_multipart_file(self):
        with self.api_user(AdminFactory()):
            response = self.client.post(
                f"{API}/plans/import/",
                data={"file": (io.BytesIO(REFERENCE), "plan.json")},
                headers={"X-API-KEY": self._api_key},
                content_type="multipart/form-data",
            )
        assert response.status_code == 201, response.json
        assert Commitment.objects.count() == 21

    def test_dry_run_writes_nothing(self):
        with self.api_user(AdminFactory()):
            response = self.post_raw(f"{API}/plans/import/?dry_run=true", REFERENCE)
        assert response.status_code == 200, response.json
        assert response.json["report"]["dry_run"] is True
        assert len(response.json["report"]["created"]) == 22
        assert ActionPlan.objects.count() == 0 and Commitment.objects.count() == 0

    @pytest.mark.parametrize(
        "name", ["unknown-status.json", "duplicate-number.json", "bad-date.json", "bad-json.json"]
    )
    def test_invalid_file_lists_every_problem_and_writes_nothing(self, name):
        with self.api_user(AdminFactory()):
            response = self.post_raw(f"{API}/plans/import/", (DATA / name).read_bytes())
        assert response.status_code == 400, response.json
        assert response.json["problems"], response.json
        assert all(p["pointer"] in response.json["errors"] for p in response.json["problems"])
        assert ActionPlan.objects.count() == 0 and Commitment.objects.count() == 0

    def test_deliverables_through_the_api(self):
        """Declared by file, evaluated at once, reported; a bad one named at its field."""
        from udata.core.dataset.factories import DatasetFactory

        from udata_ogp.models import Deliverable

        dataset = DatasetFactory(title="Demandes de valeurs foncières")
        doc = json.loads(REFERENCE)
        doc["commitments"][1]["deliverables"] = [
            {"title": "DVF", "element": {"class": "Dataset", "id": str(dataset.id)}}
        ]
        with self.api_user(AdminFactory()):
            response = self.post_raw(f"{API}/plans/import/", json.dumps(doc).encode())
            assert response.status_code == 201, response.json
            number = doc["commitments"][1]["number"]
            assert f"deliverable 'DVF' of commitment {number}" in response.json["report"]["created"]
            assert Deliverable.objects.get(title="DVF").state == "met"

            doc["commitments"][1]["deliverables"] = [{"title": "DVF", "rules": {"tags": []}}]
            response = self.post_raw(f"{API}/plans/import/", json.dumps(doc).encode())
        assert response.status_code == 400, response.json
        assert list(response.json["errors"]) == ["/commitments/1/deliverables/0/rules"]
        assert Deliverable.objects.get(title="DVF").target_id == dataset.id  # nothing written

    def test_empty_body(self):
        with self.api_user(AdminFactory()):
            response = self.post_raw(f"{API}/plans/import/", b"")
        assert response.status_code == 400
        assert "file" in response.json["errors"]

    @pytest.mark.parametrize("role", ["anonymous", "user"])
    def test_administrators_only(self, role):
        plan = ActionPlanFactory()
        expected = 401 if role == "anonymous" else 403
        if role == "anonymous":
            import_response = self.post_raw(f"{API}/plans/import/", REFERENCE)
            export_response = self.get(f"{API}/plans/{plan.id}/export/")
        else:
            with self.api_user(UserFactory()):
                import_response = self.post_raw(f"{API}/plans/import/", REFERENCE)
                export_response = self.get(f"{API}/plans/{plan.id}/export/")
        assert import_response.status_code == expected
        assert export_response.status_code == expected
        assert ActionPlan.objects.count() == 1
