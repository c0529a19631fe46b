"""handler500 tells an outage (503, retry) from a bug (the generic 500 page), for pages and the API."""

from __future__ import annotations

from django.db import OperationalError
from django.test import RequestFactory
from redis.exceptions import ConnectionError as RedisConnectionError

from lms_tool.core.outages import server_error


def _answer(path: str, exc: Exception):  # type: ignore[no-untyped-def]
    request = RequestFactory().get(path)
    try:
        raise exc
    except Exception:  # handler500 runs inside the except block, as Django calls it
        return server_error(request)


def test_a_database_error_answers_503_with_retry_after():
    response = _answer("/quizzes/1/take/", OperationalError("server closed the connection unexpectedly"))

    assert response.status_code == 503 and response["Retry-After"].isdigit()
    assert b"briefly unavailable" in response.content


def test_a_redis_error_raised_from_another_still_answers_503_json_for_the_api():
    try:
        raise RedisConnectionError("Connection refused")
    except RedisConnectionError as cause:
        wrapped = RuntimeError("cache read failed")
        wrapped.__cause__ = cause
    response = _answer("/api/v1/courses", wrapped)

    assert response.status_code == 503 and response["Content-Type"] == "application/json"
    assert b'"code": "unavailable"' in response.content


def test_a_bug_still_answers_the_generic_500_page():
    response = _answer("/quizzes/1/take/", ValueError("a bug"))

    assert response.status_code == 500 and b"Something went wrong" in response.content
