"""Who reaches the plugin's page of a private dataset: udata's own rule for reading it."""

from __future__ import annotations

import pytest
from udata.core.dataset.factories import DatasetFactory
from udata.core.organization.factories import OrganizationFactory
from udata.core.user.factories import AdminFactory, UserFactory
from udata.models import Member

from tests import BROWSER_HEADERS, OgpAPITestCase


class PrivateDatasetPageTest(OgpAPITestCase):
    @pytest.mark.parametrize(
        "reader, status",
        [
            ("anonymous", 404),
            ("other user", 404),
            ("partial editor", 200),
            ("editor", 200),
            ("administrator", 200),
        ],
    )
    def test_private_dataset_page(self, reader, status):
        partial, editor = UserFactory(), UserFactory()
        org = OrganizationFactory(
            members=[
                Member(user=partial, role="partial_editor"),
                Member(user=editor, role="editor"),
            ]
        )
        dataset = DatasetFactory(organization=org, private=True)
        users = {
            "other user": UserFactory(),
            "partial editor": partial,
            "editor": editor,
            "administrator": AdminFactory(),
        }
        if reader in users:
            self.login(users[reader])
        response = self.client.get(f"/ogp/datasets/{dataset.id}/", headers=BROWSER_HEADERS)
        assert response.status_code == status, reader
        if status == 200:
            assert dataset.title in response.data.decode()
