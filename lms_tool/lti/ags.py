"""Assignment and Grade Services 2.0 calls (https://www.imsglobal.org/spec/lti-ags/v2p0).

A thin layer over ``service_client.call`` (cached tokens, 401 refresh, ``ServiceUnavailable`` vs
``ServiceRefused``). Where pylti1p3 falls short (docs/platforms.md, pylti1p3 defect 7): line item pages are followed
through ``Link: rel="next"`` with the URL kept as sent, results are paginated too, line items can
be updated and deleted, and nothing here scans every line item to find one (filter by
``resource_link_id`` / ``resource_id`` / ``tag`` instead, §3.2.5).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from . import service_client as sc
from .models import Registration

MEDIA_LINEITEM = "application/vnd.ims.lis.v2.lineitem+json"
MEDIA_CONTAINER = "application/vnd.ims.lis.v2.lineitemcontainer+json"
MEDIA_SCORE = "application/vnd.ims.lis.v1.score+json"
MEDIA_RESULTS = "application/vnd.ims.lis.v2.resultcontainer+json"
MAX_PAGES = 1000  # a platform that links pages in a circle must not keep a worker forever


def service_url(line_item_url: str, suffix: str) -> str:
    """The scores or results URL of a line item: its path plus ``/scores`` with the query kept
    (AGS §3.4, §3.5; Moodle's line item URLs carry ``?type_id=``)."""
    parts = urlsplit(line_item_url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/" + suffix))


def _pages(
    registration: Registration, url: str, *, scopes: tuple[str, ...], accept: str, params: dict[str, str] | None
) -> Iterator[dict[str, Any]]:
    next_url: str | None = url
    for _ in range(MAX_PAGES):
        if next_url is None:
            return
        response = sc.call(registration, "GET", next_url, scopes=scopes, accept=accept, params=params)
        page = response.json()
        if not isinstance(page, list):
            raise sc.ServiceRefused(f"GET {next_url} answered something that is not a list", body=response.text)
        yield from page
        # The next URL carries the query already; it is used exactly as sent (case included).
        next_url, params = sc.next_link(response), None
    raise sc.ServiceRefused(f"more than {MAX_PAGES} pages from {url}")


def line_items_list(
    registration: Registration,
    lineitems_url: str,
    *,
    resource_link_id: str = "",
    resource_id: str = "",
    tag: str = "",
    limit: int | None = None,
    scopes: tuple[str, ...] = (sc.SCOPE_LINEITEM,),
) -> Iterator[dict[str, Any]]:
    """Line items of the container, filtered by the platform, every page followed."""
    params = {
        k: v
        for k, v in (
            ("resource_link_id", resource_link_id),
            ("resource_id", resource_id),
            ("tag", tag),
            ("limit", str(limit) if limit else ""),
        )
        if v
    }
    return _pages(registration, lineitems_url, scopes=scopes, accept=MEDIA_CONTAINER, params=params or None)


def line_item_get(
    registration: Registration, url: str, *, scopes: tuple[str, ...] = (sc.SCOPE_LINEITEM,)
) -> dict[str, Any]:
    return dict(sc.call(registration, "GET", url, scopes=scopes, accept=MEDIA_LINEITEM).json())


def line_item_create(
    registration: Registration,
    lineitems_url: str,
    *,
    label: str,
    score_maximum: float,
    resource_link_id: str = "",
    resource_id: str = "",
    tag: str = "",
    end_date_time: datetime | None = None,
) -> dict[str, Any]:
    """Create a line item (§3.2.6); the answer carries its ``id``, the URL to use from then on.

    ``end_date_time``: the activity's due date (§3.2.5 ``endDateTime``, ISO 8601 with an offset)."""
    body: dict[str, Any] = {"label": label, "scoreMaximum": score_maximum}
    body.update(
        {k: v for k, v in (("resourceLinkId", resource_link_id), ("resourceId", resource_id), ("tag", tag)) if v}
    )
    if end_date_time is not None:
        body["endDateTime"] = end_date_time.astimezone(UTC).isoformat().replace("+00:00", "Z")
    response = sc.call(
        registration,
        "POST",
        lineitems_url,
        scopes=(sc.SCOPE_LINEITEM,),
        accept=MEDIA_LINEITEM,
        json=body,
        content_type=MEDIA_LINEITEM,
    )
    item = response.json()
    if not isinstance(item, dict) or not item.get("id"):
        raise sc.ServiceRefused("the platform created a line item without an id", body=response.text)
    return item


def line_item_update(registration: Registration, url: str, data: dict[str, Any]) -> dict[str, Any]:
    """Replace a line item's fields (§3.3.3: PUT sends the whole line item)."""
    response = sc.call(
        registration,
        "PUT",
        url,
        scopes=(sc.SCOPE_LINEITEM,),
        accept=MEDIA_LINEITEM,
        json={**data, "id": url},
        content_type=MEDIA_LINEITEM,
    )
    return dict(response.json())


def line_item_delete(registration: Registration, url: str) -> None:
    sc.call(registration, "DELETE", url, scopes=(sc.SCOPE_LINEITEM,))


def score_post(registration: Registration, line_item_url: str, score: dict[str, Any]) -> int:
    """POST one score (§3.4); returns the HTTP status. Only the score scope is asked for, so one
    cached token serves every score of a registration."""
    response = sc.call(
        registration,
        "POST",
        service_url(line_item_url, "scores"),
        scopes=(sc.SCOPE_SCORE,),
        json=score,
        content_type=MEDIA_SCORE,
    )
    return response.status_code


def scores_post_window(
    registration: Registration,
    scores: list[tuple[str, dict[str, Any]]],
    *,
    in_flight: int,
    go_on: Callable[[], bool] = lambda: True,
) -> Generator[int | sc.ServiceError, None, None]:
    """``score_post`` for each (line item URL, score) of one platform, up to ``in_flight`` posts at once from this
    thread (``service_client.call_window``): yields each post's HTTP status, or its ``ServiceError``, in order;
    no post starts once ``go_on`` says no."""
    calls = [(service_url(line_item_url, "scores"), score) for line_item_url, score in scores]
    for answer in sc.call_window(
        registration,
        "POST",
        calls,
        scopes=(sc.SCOPE_SCORE,),
        content_type=MEDIA_SCORE,
        in_flight=in_flight,
        go_on=go_on,
    ):
        yield answer if isinstance(answer, sc.ServiceError) else answer.status_code


def results_list(
    registration: Registration, line_item_url: str, *, user_id: str = "", limit: int | None = None
) -> Iterator[dict[str, Any]]:
    params = {k: v for k, v in (("user_id", user_id), ("limit", str(limit) if limit else "")) if v}
    return _pages(
        registration,
        service_url(line_item_url, "results"),
        scopes=(sc.SCOPE_RESULT_READONLY,),
        accept=MEDIA_RESULTS,
        params=params or None,
    )
