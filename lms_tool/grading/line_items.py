"""Writes about line items (AGS §3.2-3.3): find the link's column, create it once, update, delete.

The column of a resource link comes from the launch's ``lineitem`` claim. Only when the platform
gave none is one created in the course's container, and remembered. If a creation's answer is lost
(a timeout or a reset after the platform made it), the next attempt asks for the line items of that
resource link before creating, so a retry never adds a second column.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from lms_tool.core.services import audit_record
from lms_tool.lti import ags
from lms_tool.lti import service_client as sc

from .models import AgsEndpoint, LineItem

LOCK_PREFIX = "grading:line-item-create:"


class LineItemUnknown(Exception):
    """The tool cannot know or make the link's line item; retrying will not help until a launch or an admin does."""


def _registration(line_item: LineItem):  # type: ignore[no-untyped-def]
    return line_item.resource_link.context.registration


def _remember(line_item: LineItem, url: str) -> str:
    LineItem.objects.filter(pk=line_item.pk).update(url=url, updated_at=timezone.now())
    line_item.url = url
    return url


def _container(line_item: LineItem) -> str:
    endpoint = AgsEndpoint.objects.filter(context_id=line_item.resource_link.context_id).first()
    if endpoint is None or not endpoint.lineitems_url:
        raise LineItemUnknown(
            "The platform named no gradebook column for this activity and no line items endpoint for its "
            "course. Open the activity once from the course (a launch brings the AGS claim), then replay."
        )
    if not endpoint.allows(sc.SCOPE_LINEITEM):
        raise LineItemUnknown(
            "The activity has no gradebook column and the platform did not let the tool create one (the "
            "line item scope is missing). Add the activity to the gradebook in the platform, or grant the scope."
        )
    return endpoint.lineitems_url


def _find(line_item: LineItem, container: str) -> dict[str, Any] | None:
    link_id = line_item.resource_link.resource_link_id
    for item in ags.line_items_list(_registration(line_item), container, resource_link_id=link_id):
        if (
            item.get("resourceLinkId") == link_id
            and item.get("resourceId", "") == line_item.resource_id
            and item.get("tag", "") == line_item.tag
        ):
            return item
    return None


def line_item_url_ensure(*, line_item: LineItem) -> str:
    """The line item's URL: remembered, from the launch claim, found after a lost creation, or created."""
    if line_item.url:
        return line_item.url
    if line_item.resource_link.lineitem_url:
        return _remember(line_item, line_item.resource_link.lineitem_url)
    container = _container(line_item)
    lock = LOCK_PREFIX + str(line_item.pk)
    if not cache.add(lock, 1, timeout=settings.GRADING_LEASE_SECONDS):
        raise sc.ServiceUnavailable("another worker is creating this line item", retry_after=1.0)
    try:
        line_item.refresh_from_db()
        if line_item.url:
            return line_item.url
        if line_item.create_attempted_at is not None:
            found = _find(line_item, container)
            if found is not None:
                return _remember(line_item, str(found["id"]))
        LineItem.objects.filter(pk=line_item.pk).update(create_attempted_at=timezone.now())
        item = ags.line_item_create(
            _registration(line_item),
            container,
            label=line_item.label or "Activity",
            score_maximum=line_item.score_maximum,
            resource_link_id=line_item.resource_link.resource_link_id,
            resource_id=line_item.resource_id,
            tag=line_item.tag,
            end_date_time=line_item.end_date_time,
        )
        audit_record(
            actor_type="system",
            action="line_item.created",
            object_type="line_item",
            object_id=line_item.pk,
            source="grading",
            after=item,
        )
        return _remember(line_item, str(item["id"]))
    finally:
        cache.delete(lock)


def line_item_update(
    *, line_item: LineItem, label: str | None = None, score_maximum: float | None = None, actor: str = "system"
) -> LineItem:
    """Rename or rescale the column in the platform (PUT, §3.3.3), then here."""
    url = line_item_url_ensure(line_item=line_item)
    before = {"label": line_item.label, "score_maximum": line_item.score_maximum}
    label = label if label is not None else line_item.label
    score_maximum = score_maximum if score_maximum is not None else line_item.score_maximum
    data: dict[str, Any] = {
        "label": label,
        "scoreMaximum": score_maximum,
        "resourceLinkId": line_item.resource_link.resource_link_id,
    }
    data.update({k: v for k, v in (("resourceId", line_item.resource_id), ("tag", line_item.tag)) if v})
    ags.line_item_update(_registration(line_item), url, data)
    LineItem.objects.filter(pk=line_item.pk).update(label=label, score_maximum=score_maximum, updated_at=timezone.now())
    line_item.label, line_item.score_maximum = label, score_maximum
    audit_record(
        actor_type="system",
        actor_id=actor,
        action="line_item.updated",
        object_type="line_item",
        object_id=line_item.pk,
        source="grading",
        before=before,
        after=data,
    )
    return line_item


def line_item_delete(*, line_item: LineItem, actor: str = "system") -> None:
    """Delete the column in the platform (§3.3.4); the row stays (its scores are history) without a URL."""
    if line_item.url:
        ags.line_item_delete(_registration(line_item), line_item.url)
    LineItem.objects.filter(pk=line_item.pk).update(url="", create_attempted_at=None, updated_at=timezone.now())
    audit_record(
        actor_type="system",
        actor_id=actor,
        action="line_item.deleted",
        object_type="line_item",
        object_id=line_item.pk,
        source="grading",
        before={"url": line_item.url},
    )
    line_item.url = ""
