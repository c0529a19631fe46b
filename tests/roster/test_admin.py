"""Admins see each roster's sync state and can sync on demand."""

from __future__ import annotations

import pytest

from lms_tool.core.models import AuditEvent
from lms_tool.lti.models import Membership
from lms_tool.roster import services
from lms_tool.roster.models import SyncStatus

from .conftest import reload


def test_the_admin_lists_syncs_with_their_last_error(canvas, context, sync, admin_client):
    canvas.faults["nrps"] = {"kind": "403", "page": 1}
    with pytest.raises(services.RosterSyncFailed):
        services.roster_sync(sync=sync)

    page = admin_client.get("/admin/roster/rostersync/")

    assert page.status_code == 200
    assert "refused access to the roster (HTTP 403)" in page.content.decode()


def test_sync_now_from_the_admin_runs_a_full_sync_and_is_audited(canvas, context, sync, admin_client, eager_celery):
    response = admin_client.post(
        "/admin/roster/rostersync/", {"action": "sync_now", "_selected_action": [str(sync.pk)]}, follow=True
    )

    assert response.status_code == 200
    assert "1 roster sync(s) queued" in response.content.decode()
    assert reload(sync).status == SyncStatus.OK
    assert Membership.objects.filter(context=context, is_active=True).count() == 6
    assert AuditEvent.objects.filter(action="roster.sync_requested", actor_type="admin").count() == 1
