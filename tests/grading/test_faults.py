"""A platform's bad days: many scores through 500s, 429s, an expired token, timeouts, resets and an
outage. Afterwards every learner's latest score is in the gradebook exactly once, or in the dead
letters with the platform's answer; none is lost, none is duplicated, no column is made twice."""

from __future__ import annotations

import time
from collections import defaultdict

from django.utils import timezone

from lms_tool.grading import passback, selectors, services
from lms_tool.grading.models import PassbackState, Score
from lms_tool.sandbox.platform import ROLE, LaunchSpec, Person, Platform
from lms_tool.sandbox.services.ags import gradebook, line_item_add

from .conftest import Seat, drain, seat

FAULTS = [
    500,
    {"status": 429, "retry_after": "1"},
    401,
    "timeout",
    "reset",
    "reset-after",
    503,
    500,
    "reset-after",
    "timeout",
    502,
    "reset",
    401,
    500,
    "reset-after",
]


def _seats(platform: Platform, course) -> list[Seat]:  # type: ignore[no-untyped-def]
    """Four learners in two activities: one whose column the launch names, one without a column yet."""
    column = line_item_add(platform, course, label="Quiz A", resource_link_id="rl-a")
    people = [
        platform.enrol(course, Person(f"learner-{n}", f"Learner {n}", f"l{n}@example.edu", [ROLE + "Learner"]))
        for n in range(4)
    ]
    seats = [seat(platform, LaunchSpec(p, course, resource_link_id="rl-a", lineitem_url=column)) for p in people]
    deck = seat(platform, LaunchSpec(people[0], course, resource_link_id="rl-b", resource_link_title="Deck B"))
    return seats + [Seat(s.user, deck.link, s.person) for s in seats]


def _submit_round(seats: list[Seat], round_no: int) -> None:
    for n, s in enumerate(seats):
        services.score_submit(
            user=s.user, resource_link=s.link, score_given=float(round_no * 10 + n), score_maximum=100
        )


def _one_pass() -> None:
    for score_id in selectors.score_ids_due(before=timezone.now()):
        passback.score_post(score_id=score_id)


def _check_every_score_is_accounted_for(platform: Platform, course) -> dict[str, int]:  # type: ignore[no-untyped-def]
    book = gradebook(platform)
    items = book.items_in(course.context_id)
    assert sorted(i["label"] for i in items) == ["Deck B", "Quiz A"], "a column was created twice"
    slots: dict[tuple[int, int], list[Score]] = defaultdict(list)
    for score in Score.objects.order_by("pk").select_related("user", "line_item"):
        slots[(score.line_item_id, score.user_id)].append(score)
    tally: dict[str, int] = defaultdict(int)
    for rows in slots.values():
        latest = rows[-1]
        result = book.result(latest.line_item.url, latest.user.sub)
        if latest.passback_state == PassbackState.POSTED:
            assert result is not None, f"score #{latest.pk} was marked posted but the gradebook lacks it"
            assert (result["resultScore"], result["_timestamp"]) == (
                latest.score_given,
                latest.timestamp.isoformat(timespec="milliseconds"),
            )
        else:
            assert latest.passback_state in (PassbackState.DEAD, PassbackState.FAILED), latest.passback_state
            assert latest.last_error and latest.last_status and latest.last_response
        for older in rows[:-1]:
            assert older.passback_state in (
                PassbackState.SUPERSEDED,
                PassbackState.POSTED,
                PassbackState.DEAD,
                PassbackState.FAILED,
            ), older.passback_state
        for row in rows:
            tally[row.passback_state] += 1
    # Every score the platform ever took is one of ours, and each learner's went forward in time.
    ours = {(s.user.sub, s.timestamp.isoformat(timespec="milliseconds")) for rows in slots.values() for s in rows}
    per_slot: dict[tuple[str, str], list[str]] = defaultdict(list)
    for entry in book.log:
        assert (entry["userId"], entry["timestamp"]) in ours
        per_slot[(entry["lineItem"], entry["userId"])].append(entry["timestamp"])
    assert all(stamps == sorted(stamps) for stamps in per_slot.values())
    # One result per learner and column; a slot with nothing marked posted may still have one: a post
    # that timed out on our side and landed after all (its score is in the dead letters, replayable).
    posted_slots = sum(1 for rows in slots.values() if any(r.passback_state == "posted" for r in rows))
    assert posted_slots <= len(book.results) <= len(slots)
    return tally


def test_no_score_is_lost_or_duplicated_through_faults_and_an_outage(platform, course, settings):
    seats = _seats(platform, course)
    settings.HTTP_TIMEOUT_SECONDS = 0.5
    platform.faults["ags_timeout_seconds"] = 0.8

    platform.faults["ags"] = list(FAULTS)
    _submit_round(seats, 1)
    _one_pass()
    _submit_round(seats[::2], 2)  # some learners try again while their first score is still being retried
    drain()
    assert platform.faults["ags"] == []

    # An outage of 36 requests: 8 scores with 5 attempts each can absorb only 32 failures (4 each)
    # without one of them running out, so at least one becomes a dead letter.
    platform.faults["ags_down"] = 36
    _submit_round(seats, 3)
    drain()
    platform.faults["ags"] = [500, "reset", 429, "reset-after"]
    _submit_round(seats[1::3], 4)
    drain()
    time.sleep(0.8)  # requests that timed out on our side may still land on the platform's

    tally = _check_every_score_is_accounted_for(platform, course)
    assert tally["dead"] > 0 and tally["posted"] > 0 and tally["superseded"] > 0, dict(tally)
    for score in Score.objects.filter(passback_state="dead"):
        assert score.attempts == settings.GRADING_MAX_ATTEMPTS
        assert score.last_error.startswith(f"gave up after {settings.GRADING_MAX_ATTEMPTS} attempts")

    for score in Score.objects.dead_letters():
        services.score_replay(score=score, actor="admin")
    drain()

    tally = _check_every_score_is_accounted_for(platform, course)
    assert tally["dead"] == tally["failed"] == tally["pending"] == 0, dict(tally)
