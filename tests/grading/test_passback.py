"""Posting scores through the sandbox's AGS: line items, retries, refusals, dead letters, replays."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from lms_tool.core.models import AuditEvent, DomainEvent
from lms_tool.grading import line_items, passback, services, settle
from lms_tool.grading.models import LineItem, Score
from lms_tool.lti import ags
from lms_tool.lti import service_client as sc
from lms_tool.sandbox.platform import ROLE, LaunchSpec, Person
from lms_tool.sandbox.services.ags import gradebook, line_item_add

from ..conftest import make_platform, registration_of
from .conftest import drain, learners_seated, seat


def _scores_posts(platform) -> list[str]:  # type: ignore[no-untyped-def]
    return [path for method, path in platform.requests_seen if method == "POST" and path.endswith("/scores")]


def _container_calls(platform) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(method, path) for method, path in platform.requests_seen if path.endswith("/lineitems")]


def test_it_posts_to_the_line_item_the_launch_named(platform, course, student):
    url = line_item_add(platform, course, label="Quiz 1", resource_link_id="rl-1")
    learner = seat(platform, LaunchSpec(student, course, resource_link_id="rl-1", lineitem_url=url))

    score = services.score_submit(user=learner.user, resource_link=learner.link, score_given=8, score_maximum=10)
    drain()

    result = gradebook(platform).result(url, student.user_id)
    assert result is not None and result["resultScore"] == 8
    assert _container_calls(platform) == []
    score.refresh_from_db()
    assert (score.passback_state, score.attempts, score.line_item.url) == ("posted", 1, url)
    assert AuditEvent.objects.filter(action="score.posted", object_id=str(score.pk)).exists()
    assert DomainEvent.objects.get(type="score.posted").data["line_item"] == url


def test_it_creates_a_missing_line_item_once_and_remembers_it(platform, course, student):
    other = platform.enrol(course, Person("student-2", "Kim", "kim@example.edu", [ROLE + "Learner"]))
    learner = seat(platform, LaunchSpec(student, course, resource_link_id="rl-7", resource_link_title="Week 7"))
    classmate = seat(platform, LaunchSpec(other, course, resource_link_id="rl-7"))

    services.score_submit(
        user=learner.user,
        resource_link=learner.link,
        score_given=5,
        score_maximum=10,
        line_item_resource_id="quiz-7",
        line_item_tag="quiz",
    )
    drain()
    services.score_submit(user=classmate.user, resource_link=classmate.link, score_given=9, score_maximum=10)
    drain()

    (item,) = gradebook(platform).items_in(course.context_id)
    assert (item["label"], item["resourceLinkId"], item["resourceId"], item["tag"]) == (
        "Week 7",
        "rl-7",
        "quiz-7",
        "quiz",
    )
    assert _container_calls(platform) == [("POST", f"/courses/{course.context_id}/lineitems")]
    assert LineItem.objects.get(resource_link=learner.link).url == item["id"]
    assert len(_scores_posts(platform)) == 2


def test_a_creation_whose_answer_was_lost_does_not_make_a_second_column(canvas, course, student):
    learner = seat(canvas, LaunchSpec(student, course, resource_link_id="rl-2"))
    canvas.faults["ags"] = ["reset-after"]  # the platform makes the line item, the answer never arrives

    score = services.score_submit(user=learner.user, resource_link=learner.link, score_given=4, score_maximum=5)
    drain()

    assert len(gradebook(canvas).items_in(course.context_id)) == 1
    assert ("GET", f"/courses/{course.context_id}/lineitems") in _container_calls(canvas)
    score.refresh_from_db()
    assert (score.passback_state, score.attempts) == ("posted", 2)


def test_it_retries_after_a_500(canvas, course, student):
    learner = seat(canvas, LaunchSpec(student, course))
    services.score_submit(user=learner.user, resource_link=learner.link, score_given=3, score_maximum=10)
    passback.score_post(score_id=learner.user.scores.get().pk)  # creates the line item first
    canvas.faults["ags"] = [500]

    score = services.score_submit(user=learner.user, resource_link=learner.link, score_given=6, score_maximum=10)
    first = passback.score_post(score_id=score.pk)
    drain()

    assert first.state == "pending" and first.retry_in is not None
    score.refresh_from_db()
    assert (score.passback_state, score.attempts) == ("posted", 2)
    retry = AuditEvent.objects.get(action="score.retry_scheduled", object_id=str(score.pk))
    assert retry.after["status"] == 500


def test_it_retries_after_429_no_sooner_than_retry_after(canvas, course, student):
    url = line_item_add(canvas, course, label="Quiz")
    learner = seat(canvas, LaunchSpec(student, course, lineitem_url=url))
    canvas.faults["ags"] = [{"status": 429, "retry_after": "1"}]
    score = services.score_submit(user=learner.user, resource_link=learner.link, score_given=6, score_maximum=10)

    before = timezone.now()
    outcome = passback.score_post(score_id=score.pk)

    score.refresh_from_db()
    assert outcome.retry_in is not None and outcome.retry_in >= 1
    assert (score.next_attempt_at - before).total_seconds() >= 1
    assert passback.score_post(score_id=score.pk).state == "skipped"  # not due yet
    drain()
    score.refresh_from_db()
    assert score.passback_state == "posted"


def test_an_expired_token_is_replaced_once_and_the_score_posted(canvas, course, student):
    url = line_item_add(canvas, course, label="Quiz")
    learner = seat(canvas, LaunchSpec(student, course, lineitem_url=url))
    warm = services.score_submit(user=learner.user, resource_link=learner.link, score_given=1, score_maximum=10)
    passback.score_post(score_id=warm.pk)
    tokens = sc.token_requests
    canvas.faults["ags"] = [401]

    score = services.score_submit(user=learner.user, resource_link=learner.link, score_given=2, score_maximum=10)
    outcome = passback.score_post(score_id=score.pk)

    assert outcome.state == "posted"
    assert sc.token_requests == tokens + 1
    assert gradebook(canvas).result(url, student.user_id)["resultScore"] == 2  # type: ignore[index]


@pytest.mark.parametrize("fault", ["timeout", "reset", "reset-after"])
def test_a_lost_connection_is_retried_and_the_score_lands_once(canvas, course, student, settings, fault):
    url = line_item_add(canvas, course, label="Quiz")
    learner = seat(canvas, LaunchSpec(student, course, lineitem_url=url))
    sc.access_token(registration_of(canvas), (sc.SCOPE_SCORE,))  # the token is not what this test is about
    settings.HTTP_TIMEOUT_SECONDS = 0.5
    canvas.faults["ags_timeout_seconds"] = 1.0
    canvas.faults["ags"] = [fault]

    score = services.score_submit(user=learner.user, resource_link=learner.link, score_given=6, score_maximum=10)
    drain()
    time.sleep(0.4 if fault == "timeout" else 0)  # let the slow first request finish on the canvas's side

    score.refresh_from_db()
    assert (score.passback_state, score.attempts) == ("posted", 2)
    assert len(gradebook(canvas).results) == 1
    assert gradebook(canvas).result(url, student.user_id)["resultScore"] == 6  # type: ignore[index]


def test_posting_the_same_score_twice_is_harmless(platform, course, student):
    url = line_item_add(platform, course, label="Quiz")
    learner = seat(platform, LaunchSpec(student, course, lineitem_url=url))
    score = services.score_submit(user=learner.user, resource_link=learner.link, score_given=6, score_maximum=10)
    drain()
    score.refresh_from_db()
    payload = score.as_ags_score(family=registration_of(platform).family)

    try:
        ags.score_post(registration_of(platform), url, payload)
    except sc.ServiceRefused as refused:  # Moodle: 409, it has this timestamp already
        assert (platform.family, refused.status) == ("moodle", 409)

    assert len(gradebook(platform).results) == 1
    assert gradebook(platform).result(url, student.user_id)["resultScore"] == 6  # type: ignore[index]


def test_moodle_answering_409_means_the_score_is_already_there(platform_server, tool_url):
    moodle = make_platform(platform_server, tool_url, family="moodle")
    course = moodle.add_course("course-101")
    student = moodle.enrol(course, Person("student-1", "Sam", "sam@example.edu", [ROLE + "Learner"]))
    url = line_item_add(moodle, course, label="Quiz")
    learner = seat(moodle, LaunchSpec(student, course, lineitem_url=url))
    moodle.faults["ags"] = ["reset-after"]

    score = services.score_submit(user=learner.user, resource_link=learner.link, score_given=6, score_maximum=10)
    drain()

    score.refresh_from_db()
    assert (score.passback_state, score.last_status, score.attempts) == ("posted", 409, 2)
    assert "already had this score" in score.last_error
    assert len(gradebook(moodle).log) == 1


def test_a_person_who_is_not_a_student_is_recorded_not_retried(platform, course, instructor):
    url = line_item_add(platform, course, label="Quiz")
    teacher = seat(platform, LaunchSpec(instructor, course, lineitem_url=url))

    score = services.score_submit(user=teacher.user, resource_link=teacher.link, score_given=6, score_maximum=10)
    drain()

    score.refresh_from_db()
    expected = 422 if platform.family == "canvas" else 400
    assert (score.passback_state, score.last_status, score.attempts) == ("failed", expected, 1)
    assert "not a student" in score.last_response
    assert DomainEvent.objects.get(type="passback.dead_lettered").data["platform_status"] == expected


def test_a_deleted_line_item_is_recorded_not_retried(canvas, course, student):
    url = line_item_add(canvas, course, label="Quiz")
    learner = seat(canvas, LaunchSpec(student, course, lineitem_url=url))
    gradebook(canvas).line_items.clear()

    score = services.score_submit(user=learner.user, resource_link=learner.link, score_given=6, score_maximum=10)
    drain()

    score.refresh_from_db()
    assert (score.passback_state, score.last_status, score.attempts) == ("failed", 404, 1)
    assert "no longer exists" in score.last_error


def test_an_older_timestamp_than_the_platform_has_is_not_retried(platform, course, student):
    url = line_item_add(platform, course, label="Quiz")
    learner = seat(platform, LaunchSpec(student, course, lineitem_url=url))
    ags.score_post(
        registration_of(platform),
        url,
        {  # someone else wrote a later grade
            "userId": student.user_id,
            "scoreGiven": 9,
            "scoreMaximum": 10,
            "activityProgress": "Completed",
            "gradingProgress": "FullyGraded",
            "timestamp": "2099-01-01T00:00:00+00:00",
        },
    )

    score = services.score_submit(user=learner.user, resource_link=learner.link, score_given=6, score_maximum=10)
    drain()

    score.refresh_from_db()
    if platform.family == "canvas":
        assert (score.passback_state, score.last_status) == ("failed", 400)
        assert "older than one it has" in score.last_error
    else:
        assert (score.passback_state, score.last_status) == ("posted", 409)
    assert score.attempts == 1


def test_without_any_ags_endpoint_the_score_waits_in_the_dead_letters(canvas, course, student):
    learner = seat(canvas, LaunchSpec(student, course))
    learner.link.context.ags_endpoint.delete()

    score = services.score_submit(user=learner.user, resource_link=learner.link, score_given=6, score_maximum=10)
    drain()

    score.refresh_from_db()
    assert score.passback_state == "failed"
    assert "Open the activity once from the course" in score.last_error


def test_without_the_line_item_scope_a_missing_column_is_not_created(canvas, course, student):
    learner = seat(canvas, LaunchSpec(student, course))
    endpoint = learner.link.context.ags_endpoint
    endpoint.scopes = [sc.SCOPE_SCORE, sc.SCOPE_LINEITEM_READONLY]
    endpoint.save()

    score = services.score_submit(user=learner.user, resource_link=learner.link, score_given=6, score_maximum=10)
    drain()

    score.refresh_from_db()
    assert score.passback_state == "failed" and "line item scope is missing" in score.last_error
    assert _container_calls(canvas) == []


def test_the_launch_s_ags_claim_is_remembered_for_the_course(canvas, course, student):
    url = line_item_add(canvas, course, label="Quiz")

    learner = seat(canvas, LaunchSpec(student, course, lineitem_url=url))

    endpoint = learner.link.context.ags_endpoint
    assert endpoint.lineitems_url == f"{canvas.base_url}/courses/{course.context_id}/lineitems"
    assert set(endpoint.scopes) == {sc.SCOPE_LINEITEM, sc.SCOPE_RESULT_READONLY, sc.SCOPE_SCORE}


def test_after_the_last_retry_a_score_is_a_dead_letter_and_can_be_replayed(canvas, course, student, settings):
    url = line_item_add(canvas, course, label="Quiz")
    learner = seat(canvas, LaunchSpec(student, course, lineitem_url=url))
    canvas.faults["ags_down"] = True

    score = services.score_submit(user=learner.user, resource_link=learner.link, score_given=6, score_maximum=10)
    drain()

    score.refresh_from_db()
    assert (score.passback_state, score.attempts, score.last_status) == ("dead", settings.GRADING_MAX_ATTEMPTS, 503)
    assert "injected fault" in score.last_response
    assert (
        AuditEvent.objects.filter(action="score.retry_scheduled", object_id=str(score.pk)).count()
        == settings.GRADING_MAX_ATTEMPTS - 1
    )
    assert AuditEvent.objects.filter(action="score.dead_lettered", object_id=str(score.pk)).exists()
    assert DomainEvent.objects.filter(type="passback.dead_lettered").count() == 1

    canvas.faults["ags_down"] = 0
    services.score_replay(score=score, actor="admin-1")
    drain()

    score.refresh_from_db()
    assert score.passback_state == "posted"
    assert gradebook(canvas).result(url, student.user_id)["resultScore"] == 6  # type: ignore[index]
    assert AuditEvent.objects.get(action="score.replayed").actor_id == "admin-1"


def test_only_dead_letters_can_be_replayed(canvas, course, student):
    learner = seat(canvas, LaunchSpec(student, course))
    score = services.score_submit(user=learner.user, resource_link=learner.link, score_given=6, score_maximum=10)

    with pytest.raises(services.ScoreInvalid, match="only dead letters"):
        services.score_replay(score=score, actor="admin-1")


def test_a_posted_score_is_not_posted_again_by_a_second_task(canvas, course, student):
    learner = seat(canvas, LaunchSpec(student, course))
    score = services.score_submit(user=learner.user, resource_link=learner.link, score_given=6, score_maximum=10)
    drain()

    assert passback.score_post(score_id=score.pk).state == "skipped"
    assert len(_scores_posts(canvas)) == 1


def test_once_the_platform_is_back_waiting_scores_do_not_wait_out_their_backoff(canvas, course, student, settings):
    settings.GRADING_RETRY_BASE_SECONDS = settings.GRADING_RETRY_CAP_SECONDS = 60
    settings.GRADING_POST_BATCH = 1  # one score per attempt, so each meets its own fault
    url = line_item_add(canvas, course, label="Quiz")
    people = [
        canvas.enrol(course, Person(f"s{n}", f"S {n}", f"s{n}@example.edu", [ROLE + "Learner"])) for n in (1, 2, 3)
    ]
    first, second, slowed = (seat(canvas, LaunchSpec(p, course, lineitem_url=url)) for p in people)
    scores = [
        services.score_submit(user=s.user, resource_link=s.link, score_given=5, score_maximum=10)
        for s in (first, second, slowed)
    ]
    canvas.faults["ags"] = [503, 503, {"status": 429, "retry_after": "60"}]
    for score in scores:
        passback.score_post(score_id=score.pk)  # each waits now, up to a minute

    # The 429 holds every score of the platform for its Retry-After: one due now is not even tried.
    Score.objects.filter(pk=scores[0].pk).update(next_attempt_at=timezone.now())
    assert passback.score_post(score_id=scores[0].pk).state == "skipped"
    assert Score.objects.get(pk=scores[0].pk).next_attempt_at > timezone.now() + timedelta(seconds=50)
    # The hold runs out (as it would after the minute; the slowed score's own wait stays as it is).
    cache.delete(f"{settle.HOLD_PREFIX}{first.link.context.registration_id}")

    # The first one's retry comes due and gets through: the platform is back.
    Score.objects.filter(pk=scores[0].pk).update(next_attempt_at=timezone.now())
    assert passback.score_post(score_id=scores[0].pk).state == "posted"

    assert passback.score_post(score_id=scores[1].pk).state == "posted"  # due at once, not in a minute
    assert passback.score_post(score_id=scores[2].pk).state == "skipped"  # the platform asked for 60 s
    assert Score.objects.get(pk=scores[2].pk).next_attempt_at > timezone.now() + timedelta(seconds=50)


def test_a_worker_posts_the_platform_s_other_due_scores_with_the_one_it_was_given(canvas, course):
    url = line_item_add(canvas, course, label="Quiz")
    people = [
        canvas.enrol(course, Person(f"s{n}", f"S {n}", f"s{n}@example.edu", [ROLE + "Learner"])) for n in (1, 2, 3)
    ]
    scores = [
        services.score_submit(user=s.user, resource_link=s.link, score_given=n, score_maximum=10)
        for n, s in enumerate(seat(canvas, LaunchSpec(p, course, lineitem_url=url)) for p in people)
    ]
    tokens = sc.token_requests

    assert passback.score_post(score_id=scores[1].pk).state == "posted"

    assert [Score.objects.get(pk=s.pk).passback_state for s in scores] == ["posted"] * 3
    assert len(_scores_posts(canvas)) == 3 and sc.token_requests == tokens + 1
    assert [passback.score_post(score_id=s.pk).state for s in scores] == ["skipped"] * 3


def test_when_the_platform_fails_the_rest_of_the_batch_waits_untried(canvas, course):
    url = line_item_add(canvas, course, label="Quiz")
    people = [
        canvas.enrol(course, Person(f"s{n}", f"S {n}", f"s{n}@example.edu", [ROLE + "Learner"])) for n in (1, 2, 3)
    ]
    scores = [
        services.score_submit(user=s.user, resource_link=s.link, score_given=n, score_maximum=10)
        for n, s in enumerate(seat(canvas, LaunchSpec(p, course, lineitem_url=url)) for p in people)
    ]
    canvas.faults["ags"] = [503]

    outcome = passback.score_post(score_id=scores[0].pk)

    rows = [Score.objects.get(pk=s.pk) for s in scores]
    assert outcome.state == "pending" and len(_scores_posts(canvas)) == 1
    assert [(r.passback_state, r.attempts, r.claimed_at) for r in rows] == [
        ("pending", 1, None),
        ("pending", 0, None),
        ("pending", 0, None),
    ]
    assert rows[1].next_attempt_at == rows[2].next_attempt_at and rows[1].next_attempt_at >= rows[0].next_attempt_at
    drain()
    assert [Score.objects.get(pk=s.pk).passback_state for s in scores] == ["posted"] * 3


def test_a_worker_whose_lease_ran_out_leaves_the_score_to_the_worker_that_took_it(canvas, course, student):
    from lms_tool.grading.settle import batch_settle

    learner = seat(canvas, LaunchSpec(student, course))
    score = services.score_submit(user=learner.user, resource_link=learner.link, score_given=6, score_maximum=10)
    (claimed,), _ = passback._claim(score.pk, time.monotonic() + 5)
    Score.objects.filter(pk=score.pk).update(claim=uuid.uuid4())  # the lease ran out; another worker has it

    outcomes = batch_settle([claimed], {score.pk: passback.Attempt("posted", 200)})

    assert outcomes[score.pk].state == "pending"
    assert Score.objects.get(pk=score.pk).passback_state == "pending"
    assert not AuditEvent.objects.filter(action="score.posted").exists()


def test_a_line_item_is_renamed_rescaled_and_deleted_in_the_platform(platform, course, student):
    url = line_item_add(platform, course, label="Quiz", score_maximum=10, resource_link_id="rl-1")
    learner = seat(platform, LaunchSpec(student, course, resource_link_id="rl-1", lineitem_url=url))
    services.score_submit(user=learner.user, resource_link=learner.link, score_given=6, score_maximum=10)
    item = LineItem.objects.get(resource_link=learner.link)

    line_items.line_item_update(line_item=item, label="Quiz (final)", score_maximum=20, actor="instructor-1")

    (remote,) = gradebook(platform).items_in(course.context_id)
    assert (remote["label"], remote["scoreMaximum"], remote["resourceLinkId"]) == ("Quiz (final)", 20, "rl-1")
    assert (item.label, item.score_maximum) == ("Quiz (final)", 20)

    line_items.line_item_delete(line_item=item, actor="instructor-1")

    assert gradebook(platform).items_in(course.context_id) == []
    assert LineItem.objects.get(pk=item.pk).url == ""
    assert [a.action for a in AuditEvent.objects.filter(object_type="line_item").order_by("id")] == [
        "line_item.updated",
        "line_item.deleted",
    ]


def _score_posts_at_once(platform_server, *, delay: float) -> list[int]:  # type: ignore[no-untyped-def]
    """The platform answers each score post after ``delay`` seconds and counts how many it is answering at once;
    the most so far, in a one-item list."""
    lock, busy, most = threading.Lock(), [0], [0]
    handle = platform_server.handle

    def counted(environ, path):  # type: ignore[no-untyped-def]
        if not path.endswith("/scores"):
            return handle(environ, path)
        with lock:
            busy[0] += 1
            most[0] = max(most[0], busy[0])
        try:
            time.sleep(delay)
            return handle(environ, path)
        finally:
            with lock:
                busy[0] -= 1

    platform_server.handle = counted
    return most


def test_one_worker_keeps_several_posts_in_flight_to_a_platform_and_never_more_than_its_cap(
    platform_server, canvas, course, settings
):
    settings.GRADING_POSTS_IN_FLIGHT = 3
    url = line_item_add(canvas, course, label="Quiz 1", resource_link_id="rl-1")
    seats = learners_seated(canvas, course, url, 7)
    most = _score_posts_at_once(platform_server, delay=0.05)  # answered slowly, and counted
    for n, learner in enumerate(seats):
        services.score_submit(user=learner.user, resource_link=learner.link, score_given=n, score_maximum=10)
    drain()

    assert most[0] == 3, "posts in flight at once: the cap, and more than one"
    assert len(_scores_posts(canvas)) == 7, "each score posted exactly once"
    assert sorted(gradebook(canvas).result(url, f"s-{n}")["resultScore"] for n in range(7)) == list(range(7))
    assert set(Score.objects.values_list("passback_state", flat=True)) == {"posted"}


def test_a_platform_that_answers_within_the_worker_s_own_time_per_post_gets_two_posts_at_once(
    platform_server, canvas, course, settings, monkeypatch
):
    settings.GRADING_POSTS_IN_FLIGHT = 4
    # A post taken to keep the worker busy a whole second: any answer within that needs no more than two in flight.
    monkeypatch.setattr(passback, "POST_SECONDS", 1.0)
    url, scores = _scores_for_a_slow_platform(platform_server, canvas, course, 8, delay=0.05)
    most = _score_posts_at_once(platform_server, delay=0)

    assert passback.score_post(score_id=scores[0].pk).state == "posted"

    assert most[0] == 2, "posts at once: two, below the cap of 4"
    assert len(_scores_posts(canvas)) == 8
    assert sorted(gradebook(canvas).result(url, f"s-{n}")["resultScore"] for n in range(8)) == list(range(8))


@pytest.mark.parametrize(
    ("round_trip", "cap", "window"),
    [(0.0002, 4, 2), (0.0016, 4, 2), (0.0025, 4, 3), (0.02, 4, 4), (0.02, 8, 8), (0.0001, 1, 1), (5.0, 3, 3)],
)
def test_the_posts_in_flight_cover_the_probe_s_round_trip_within_the_cap(round_trip, cap, window):
    assert passback.window_for(round_trip, cap) == window


def _scores_for_a_slow_platform(platform_server, canvas, course, count: int, *, delay: float):  # type: ignore[no-untyped-def]
    """``count`` learners' scores submitted for the column of ``rl-1``, at a platform that takes ``delay`` seconds to
    answer each score post; the column's URL and the scores."""
    url = line_item_add(canvas, course, label="Quiz 1", resource_link_id="rl-1")
    seats = learners_seated(canvas, course, url, count)
    handle = platform_server.handle

    def slow_scores(environ, path):  # type: ignore[no-untyped-def]
        if path.endswith("/scores"):
            time.sleep(delay)
        return handle(environ, path)

    platform_server.handle = slow_scores
    scores = [
        services.score_submit(user=learner.user, resource_link=learner.link, score_given=n, score_maximum=10)
        for n, learner in enumerate(seats)
    ]
    return url, scores


def test_posts_in_flight_stop_starting_once_the_platform_fails_and_the_rest_waits_untried(
    platform_server, canvas, course, settings
):
    settings.GRADING_POSTS_IN_FLIGHT = 3
    url, scores = _scores_for_a_slow_platform(platform_server, canvas, course, 12, delay=0.05)
    canvas.faults["ags"] = [None, None, 503]  # the probe and one more pass; the third post meets a 503

    passback.score_post(score_id=scores[0].pk)

    rows = list(Score.objects.filter(pk__in=[s.pk for s in scores]))
    tried = [r for r in rows if r.attempts == 1]
    # The probe, then 3 at once; once the 503 is answered, no post starts (the two others in flight may each
    # have started one more just before it).
    assert len(_scores_posts(canvas)) == len(tried) <= 6
    assert [r.last_status for r in rows if r.last_status == 503 and r.attempts == 1] == [503]
    untried = [r for r in rows if r.attempts == 0]
    assert len(untried) >= 6 and {r.passback_state for r in untried} == {"pending"}
    assert all("not tried" in r.last_error for r in untried)
    drain()
    assert len(_scores_posts(canvas)) == 13, "each score posted once, and the one that met the 503 again"
    assert set(Score.objects.values_list("passback_state", flat=True)) == {"posted"}
    assert sorted(gradebook(canvas).result(url, f"s-{n}")["resultScore"] for n in range(12)) == list(range(12))


def test_a_long_batch_is_recorded_in_parts_while_its_later_posts_are_still_in_flight(
    platform_server, canvas, course, settings, monkeypatch
):
    settings.GRADING_POSTS_IN_FLIGHT = 3
    monkeypatch.setattr(passback, "RECORD_PART", 4)
    url = line_item_add(canvas, course, label="Quiz 1", resource_link_id="rl-1")
    seats = learners_seated(canvas, course, url, 12)
    arrived: list[float] = []  # when each score post reached the platform
    recorded: list[tuple[float, int]] = []  # when each recording of the batch began, and how many scores it held
    handle, settle_real = platform_server.handle, passback.batch_settle

    def slow_scores(environ, path):  # type: ignore[no-untyped-def]
        if path.endswith("/scores"):
            arrived.append(time.monotonic())
            time.sleep(0.03)
        return handle(environ, path)

    def settle_timed(batch, attempts):  # type: ignore[no-untyped-def]
        recorded.append((time.monotonic(), len(batch)))
        return settle_real(batch, attempts)

    platform_server.handle = slow_scores
    monkeypatch.setattr(passback, "batch_settle", settle_timed)
    scores = [
        services.score_submit(user=learner.user, resource_link=learner.link, score_given=n, score_maximum=10)
        for n, learner in enumerate(seats)
    ]

    outcome = passback.score_post(score_id=scores[0].pk)

    assert outcome.state == "posted"
    assert len(arrived) == 12 and len(recorded) >= 2, recorded
    assert recorded[0][0] < arrived[-1], "the first part was recorded before the last post reached the platform"
    assert sum(n for _, n in recorded) == 12, "each score recorded once"
    assert set(Score.objects.values_list("passback_state", flat=True)) == {"posted"}
    assert AuditEvent.objects.filter(action="score.posted").count() == 12
    assert sorted(gradebook(canvas).result(url, f"s-{n}")["resultScore"] for n in range(12)) == list(range(12))


def test_a_platform_failing_after_a_part_was_recorded_holds_the_rest_as_long_as_the_failure_says(
    platform_server, canvas, course, settings, monkeypatch
):
    settings.GRADING_POSTS_IN_FLIGHT = 2
    monkeypatch.setattr(passback, "RECORD_PART", 3)
    url, scores = _scores_for_a_slow_platform(platform_server, canvas, course, 14, delay=0.02)
    canvas.faults["ags"] = [None] * 7 + [503]  # seven posts pass (two parts recorded), the eighth meets a 503

    passback.score_post(score_id=scores[0].pk)

    rows = list(Score.objects.filter(pk__in=[s.pk for s in scores]).order_by("pk"))
    posted = [r for r in rows if r.passback_state == "posted"]
    failed = [r for r in rows if r.last_status == 503 and r.attempts == 1]
    untried = [r for r in rows if r.attempts == 0]
    assert len(posted) >= 6 and len(failed) == 1
    assert len(posted) + len(failed) + len(untried) == 14
    assert untried and {r.passback_state for r in untried} == {"pending"}
    assert all("not tried" in r.last_error for r in untried)
    assert all(r.next_attempt_at >= failed[0].next_attempt_at - timedelta(seconds=1) for r in untried), (
        "the untried wait as long as the failed one"
    )
    drain()
    assert len(_scores_posts(canvas)) == 15, "each score posted once, and the one that met the 503 again"
    assert set(Score.objects.values_list("passback_state", flat=True)) == {"posted"}
    assert sorted(gradebook(canvas).result(url, f"s-{n}")["resultScore"] for n in range(14)) == list(range(14))


def test_a_post_in_flight_answered_401_goes_again_and_the_batch_goes_on(platform_server, canvas, course, settings):
    settings.GRADING_POSTS_IN_FLIGHT = 3
    url, scores = _scores_for_a_slow_platform(platform_server, canvas, course, 6, delay=0.01)
    canvas.faults["ags"] = [None, None, 401]  # the probe and one more pass; the third post is refused once

    outcome = passback.score_post(score_id=scores[0].pk)

    assert outcome.state == "posted"
    assert set(Score.objects.values_list("passback_state", flat=True)) == {"posted"}
    assert len(_scores_posts(canvas)) == 7, "each score posted once, and the refused one again"
    assert sorted(gradebook(canvas).result(url, f"s-{n}")["resultScore"] for n in range(6)) == list(range(6))
