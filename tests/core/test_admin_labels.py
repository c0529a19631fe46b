"""The Django admin's index names every model in plain words (no "Learner parameterss", "Lti users")."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_the_admin_index_names_models_as_people_say_them(admin_client):
    page = admin_client.get("/admin/").content.decode()

    for label in ("FSRS parameters", "AGS endpoints", "LTI users"):
        assert label in page
    for wrong in ("parameterss", "Ags endpoints", "Lti users"):
        assert wrong not in page
