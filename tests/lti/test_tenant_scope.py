"""Every object is reached only through the launch's registration and course, by an active member of it.

Each test is one attack (or one way a legitimate person must not be locked out), driven over real HTTP from
the sandbox platform: two schools (registrations) share the tool, a teacher types custom parameters, a student
dropped from one course tries their old attempt through another, an LMS copies a course with its links.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from lms_tool.core.models import AuditEvent
from lms_tool.flashcards.models import Card, CardState, Deck
from lms_tool.lti.deep_linking import activity_proof
from lms_tool.lti.models import Context, Membership, Registration
from lms_tool.quizzes.models import Answer, Attempt, Question, Quiz
from lms_tool.roster import services as roster
from lms_tool.sandbox.platform import INSTITUTION_ROLE, ROLE, Course, LaunchSpec, Person, Platform
from lms_tool.sandbox.server import PlatformServer

from ..conftest import make_platform, registration_of
from ..quizzes.factories import make_quiz
from ..quizzes.flow import Seat, seat
from .flow import error_code, launch

pytestmark = pytest.mark.usefixtures("_no_ai_no_passback")


@pytest.fixture
def _no_ai_no_passback(settings):  # type: ignore[no-untyped-def]
    settings.AI = {"BASE_URL": "", "MODEL": ""}
    settings.GRADING_PASSBACK_ENABLED = False


@pytest.fixture
def moodle(tool_url: str) -> Iterator[Platform]:
    """A second school: another platform, registered with the tool under its own registration."""
    server = PlatformServer().start()
    try:
        yield make_platform(server, tool_url, family="moodle", client_id="moodle-client")
    finally:
        server.stop()


@pytest.fixture
def moodle_teacher(moodle: Platform) -> tuple[Course, Person]:
    course = moodle.add_course("m-101", title="Moodle Biology")
    teacher = Person("m-teacher", "Mo Teacher", "mo@school-b.edu", [ROLE + "Instructor"], "Mo", "Teacher")
    return course, moodle.enrol(course, teacher)


def proven(platform: Platform, activity: str) -> dict[str, str]:
    """The custom parameters the tool's deep-linking response gives a link of ``platform``'s registration."""
    registration = registration_of(platform)
    return {"activity": activity, "activity_sig": activity_proof(registration_id=registration.pk, activity=activity)}


def refusal(response: requests.Response) -> tuple[int, str | None, str]:
    """What a refusal shows, without its random log reference: status, code and the page's words."""
    text = re.sub(r'<span class="mono">[0-9a-f]{8}</span>', "", response.text)
    return response.status_code, error_code(response), text


def rows() -> dict[str, int]:
    return {
        "quizzes": Quiz.objects.count(),
        "questions": Question.objects.count(),
        "attempts": Attempt.objects.count(),
        "answers": Answer.objects.count(),
        "decks": Deck.objects.count(),
    }


# Another registration's activity ---------------------------------------------------------------------------


def test_a_typed_custom_activity_of_another_registration_is_refused(
    canvas, course, instructor, moodle, moodle_teacher, tool_url
):
    quiz = make_quiz(seat(canvas, LaunchSpec(instructor, course)), count=2, types=["true_false"])
    explanation = quiz.questions.first().explanation  # type: ignore[union-attr]
    m_course, teacher = moodle_teacher
    before = rows()

    typed = launch(moodle, LaunchSpec(teacher, m_course, custom={"activity": f"quiz:{quiz.pk}"}))
    missing = launch(moodle, LaunchSpec(teacher, m_course, custom={"activity": "quiz:987654"}))

    assert typed.status_code == 404 and error_code(typed) == "activity_foreign"
    assert "belongs to another installation of the tool" in typed.text
    assert quiz.title not in typed.text and explanation not in typed.text
    # Exactly the page a pointer to nothing gets: the answer tells nothing about the other school's ids.
    assert refusal(typed) == refusal(missing)
    assert rows() == before


def test_a_proof_issued_for_another_registration_does_not_open_its_activity(
    canvas, course, instructor, moodle, moodle_teacher, tool_url
):
    quiz = make_quiz(seat(canvas, LaunchSpec(instructor, course)), count=2, types=["true_false"])
    m_course, teacher = moodle_teacher
    before = rows()

    # The custom parameters of a real Canvas link, pasted into a Moodle activity's settings.
    pasted = launch(moodle, LaunchSpec(teacher, m_course, custom=proven(canvas, f"quiz:{quiz.pk}")))
    forged = launch(moodle, LaunchSpec(teacher, m_course, custom={"activity": "quiz:987654", "activity_sig": "0" * 64}))

    assert pasted.status_code == 404 and error_code(pasted) == "activity_foreign"
    assert refusal(pasted) == refusal(forged)
    assert rows() == before


def test_a_teacher_of_another_registration_cannot_open_the_quiz_pages_by_id(
    canvas, course, instructor, moodle, moodle_teacher, tool_url
):
    quiz = make_quiz(seat(canvas, LaunchSpec(instructor, course)), count=2, types=["true_false"])
    m_course, teacher = moodle_teacher
    mo = seat(moodle, LaunchSpec(teacher, m_course))

    manage = mo.session.get(f"{tool_url}/quizzes/{quiz.pk}/manage/", params={"launch": mo.launch_id}, timeout=10)
    take = mo.session.get(f"{tool_url}/quizzes/{quiz.pk}/take/", params={"launch": mo.launch_id}, timeout=10)
    nothing = mo.session.get(f"{tool_url}/quizzes/987654/manage/", params={"launch": mo.launch_id}, timeout=10)

    assert manage.status_code == take.status_code == nothing.status_code == 404
    assert refusal(manage) == refusal(nothing)
    assert quiz.title not in manage.text + take.text


# Attempts: only through the launch's course, as an active member ------------------------------------------


@pytest.fixture
def course_b(canvas: Platform, instructor: Person, student: Person) -> Course:
    other = canvas.add_course("course-202", title="Chemistry 202")
    canvas.enrol(other, instructor)
    canvas.enrol(other, student)
    return other


def _open_attempt(canvas: Platform, course_b: Course, instructor: Person, student: Person, tool_url: str):  # type: ignore[no-untyped-def]
    teacher = seat(canvas, LaunchSpec(instructor, course_b))
    quiz = make_quiz(teacher, count=2, types=["true_false"])
    learner = seat(canvas, LaunchSpec(student, course_b, custom=proven(canvas, f"quiz:{quiz.pk}")))
    learner.session.post(f"{tool_url}/quizzes/{quiz.pk}/take/", data={"launch": learner.launch_id}, timeout=10)
    return teacher, learner, Attempt.objects.get(quiz=quiz)


def _drop(canvas: Platform, course_b: Course, student: Person) -> None:
    context = Context.objects.get(registration=registration_of(canvas), context_id=course_b.context_id)
    sync = roster.roster_sync_for(context=context)
    roster.roster_sync(sync=sync, full=True)  # the roster lists the student once...
    course_b.members[student.user_id].status = "Deleted"
    roster.roster_sync(sync=sync, full=True)  # ...then drops them


def _attempt_pages(who: Seat, attempt: Attempt, tool_url: str) -> list[requests.Response]:
    base = f"{tool_url}/quizzes/attempts/{attempt.pk}"
    question = attempt.question_ids[0]
    headers = {"X-LTI-Launch": who.launch_id, "Accept": "application/json"}
    return [
        who.session.get(f"{base}/", params={"launch": who.launch_id}, timeout=10),
        who.session.post(f"{base}/answer/", json={"question": question, "response": [0]}, headers=headers, timeout=10),
        who.session.post(f"{base}/submit/", data={"launch": who.launch_id, f"q{question}": "0"}, timeout=10),
        who.session.get(f"{base}/result/", params={"launch": who.launch_id}, timeout=10),
    ]


def test_a_student_dropped_from_course_b_cannot_use_b_attempt_from_course_a(
    canvas, course, course_b, instructor, student, tool_url
):
    _, learner_b, attempt = _open_attempt(canvas, course_b, instructor, student, tool_url)
    _drop(canvas, course_b, student)
    from_a = seat(canvas, LaunchSpec(student, course))

    through_a = _attempt_pages(from_a, attempt, tool_url)
    through_old_b = _attempt_pages(learner_b, attempt, tool_url)

    assert [r.status_code for r in through_a] == [404, 404, 404, 404]
    assert [r.status_code for r in through_old_b] == [403, 403, 403, 403]
    assert error_code(through_old_b[0]) == "membership_revoked"
    attempt.refresh_from_db()
    assert attempt.is_open and not attempt.answers.exists()


def test_an_active_student_of_course_a_cannot_use_their_course_b_attempt_from_a(
    canvas, course, course_b, instructor, student, tool_url
):
    _, learner_b, attempt = _open_attempt(canvas, course_b, instructor, student, tool_url)
    from_a = seat(canvas, LaunchSpec(student, course))

    assert [r.status_code for r in _attempt_pages(from_a, attempt, tool_url)] == [404, 404, 404, 404]
    assert learner_b.session.get(
        f"{tool_url}/quizzes/attempts/{attempt.pk}/", params={"launch": learner_b.launch_id}, timeout=10
    ).ok


def test_a_launch_without_a_course_reaches_no_attempt(canvas, course_b, instructor, student, tool_url):
    _, _, attempt = _open_attempt(canvas, course_b, instructor, student, tool_url)
    courseless = seat(canvas, LaunchSpec(student, None))

    assert [r.status_code for r in _attempt_pages(courseless, attempt, tool_url)] == [404, 404, 404, 404]
    attempt.refresh_from_db()
    assert attempt.is_open and not attempt.answers.exists()


def test_the_review_queue_of_course_a_does_not_show_course_b_answers(
    canvas, course, course_b, instructor, student, tool_url
):
    teacher_b = seat(canvas, LaunchSpec(instructor, course_b))
    quiz = make_quiz(teacher_b, count=1, types=["free_text"])
    learner = seat(canvas, LaunchSpec(student, course_b, custom=proven(canvas, f"quiz:{quiz.pk}")))
    learner.session.post(f"{tool_url}/quizzes/{quiz.pk}/take/", data={"launch": learner.launch_id}, timeout=10)
    attempt = Attempt.objects.get(quiz=quiz)
    question = attempt.question_ids[0]
    learner.session.post(
        f"{tool_url}/quizzes/attempts/{attempt.pk}/submit/",
        data={"launch": learner.launch_id, f"q{question}": "Something vague."},
        timeout=10,
    )
    flagged = Answer.objects.get(attempt=attempt, needs_review=True)
    teacher_a = seat(canvas, LaunchSpec(instructor, course))

    queue = teacher_a.session.get(f"{tool_url}/quizzes/review/", params={"launch": teacher_a.launch_id}, timeout=10)
    decide = teacher_a.session.post(
        f"{tool_url}/quizzes/review/{flagged.pk}/", data={"launch": teacher_a.launch_id, "score": "1"}, timeout=10
    )

    assert "Something vague." not in queue.text
    assert decide.status_code == 404
    flagged.refresh_from_db()
    assert flagged.reviewed_at is None


# Course copy inside one registration -----------------------------------------------------------------------


def test_a_copied_link_to_another_course_of_the_registration_gets_the_course_its_own_copy(
    canvas, course, course_b, instructor, student, tool_url
):
    original = make_quiz(seat(canvas, LaunchSpec(instructor, course)), count=3, types=["true_false"])
    Question.objects.filter(pk=original.questions.first().pk).update(status="draft")  # type: ignore[union-attr]
    make_attempt = seat(canvas, LaunchSpec(student, course, custom=proven(canvas, f"quiz:{original.pk}")))
    make_attempt.session.post(
        f"{tool_url}/quizzes/{original.pk}/take/", data={"launch": make_attempt.launch_id}, timeout=10
    )
    # The LMS copied course A into course B, links and custom parameters included.
    copied_link = LaunchSpec(
        student, course_b, resource_link_id="rl-copied", custom=proven(canvas, f"quiz:{original.pk}")
    )

    first = seat(canvas, copied_link)
    again = seat(canvas, copied_link)

    copy = Quiz.objects.get(copied_from=original)
    assert copy.context.context_id == course_b.context_id and copy.title == original.title
    assert (copy.max_attempts, copy.status, copy.review_threshold) == (
        original.max_attempts,
        original.status,
        original.review_threshold,
    )
    assert f"/quizzes/{copy.pk}/take/" in first.landing and f"/quizzes/{copy.pk}/take/" in again.landing
    assert sorted(copy.questions.values_list("prompt", flat=True)) == sorted(
        original.questions.approved().values_list("prompt", flat=True)
    )
    assert copy.questions.count() == 2 and not Attempt.objects.filter(quiz=copy).exists()
    assert Quiz.objects.filter(copied_from=original).count() == 1
    audit = AuditEvent.objects.get(action="quiz.copy")
    assert audit.object_id == str(copy.pk) and audit.after["copied_from"] == original.pk


def test_a_copied_deck_link_gets_the_course_its_own_deck_without_reviews(
    canvas, course, course_b, instructor, student, tool_url
):
    context_a = seat(canvas, LaunchSpec(instructor, course)).context
    original = Deck.objects.create(context=context_a, title="Cells", status=Deck.Status.PUBLISHED)
    Card.objects.create(deck=original, front="Powerhouse?", back="Mitochondria", status="approved")
    Card.objects.create(deck=original, front="Membrane?", back="Lipids", status="approved")
    copied_link = LaunchSpec(
        student, course_b, resource_link_id="rl-deck", custom=proven(canvas, f"deck:{original.pk}")
    )

    first = seat(canvas, copied_link)
    again = seat(canvas, copied_link)

    copy = Deck.objects.get(copied_from=original)
    assert copy.context.context_id == course_b.context_id and copy.title == "Cells" and copy.is_published
    assert sorted(copy.cards.values_list("front", flat=True)) == ["Membrane?", "Powerhouse?"]
    assert f"/flashcards/decks/{copy.pk}/review/" in first.landing
    assert f"/flashcards/decks/{copy.pk}/review/" in again.landing
    assert Deck.objects.filter(copied_from=original).count() == 1
    assert not CardState.objects.filter(deck=copy).exists()
    assert AuditEvent.objects.filter(action="flashcards.deck_copied", object_id=str(copy.pk)).exists()


def test_an_unproven_pointer_to_another_course_of_the_registration_is_refused_not_copied(
    canvas, course, course_b, instructor, student, tool_url
):
    original = make_quiz(seat(canvas, LaunchSpec(instructor, course)), count=1, types=["true_false"])
    before = rows()

    typed = launch(canvas, LaunchSpec(student, course_b, custom={"activity": f"quiz:{original.pk}"}))

    assert typed.status_code == 404 and error_code(typed) == "activity_foreign"
    assert rows() == before


# The membership rule ------------------------------------------------------------------------------------


def test_an_administrator_the_roster_never_lists_keeps_access_after_a_sync(
    canvas, course, instructor, student, tool_url
):
    admin = Person("site-admin", "Site Admin", "admin@example.edu", [INSTITUTION_ROLE + "Administrator"])
    # Launches from the course without being enrolled in it (Moodle site admins, Canvas sub-account admins).
    admin_seat = seat(canvas, LaunchSpec(admin, course))
    context = admin_seat.context

    roster.roster_sync(sync=roster.roster_sync_for(context=context), full=True)

    membership = Membership.objects.get(context=context, user__sub="site-admin")
    assert membership.is_active and membership.roster_listed_at is None and membership.revoked_at is None
    page = admin_seat.session.get(f"{tool_url}/roster/", params={"launch": admin_seat.launch_id}, timeout=10)
    assert page.status_code == 200
    assert Membership.objects.get(context=context, user__sub=student.user_id).roster_listed_at is not None


def _signed_minutes_ago(minutes: int):  # type: ignore[no-untyped-def]
    def hook(claims: dict) -> dict:  # type: ignore[type-arg]
        claims["iat"] = int((timezone.now() - timedelta(minutes=minutes)).timestamp())
        return claims

    return hook


def test_a_re_enrolled_students_launch_works_the_first_time(canvas, course, instructor, student, tool_url):
    # Timeline: the student launched 3 minutes ago, the roster dropped them 1 minute ago, they launch now.
    old = seat(canvas, LaunchSpec(student, course, claims_hook=_signed_minutes_ago(3)))
    context = old.context
    sync = roster.roster_sync_for(context=context)
    roster.roster_sync(sync=sync, full=True)
    course.members[student.user_id].status = "Inactive"
    roster.roster_sync(sync=sync, full=True)
    dropped = Membership.objects.get(context=context, user__sub=student.user_id)
    assert not dropped.is_active and dropped.revoked_at is not None
    # The platform re-enrolled them a minute later; the tool's roster has not been read since.
    Membership.objects.filter(pk=dropped.pk).update(revoked_at=timezone.now() - timedelta(minutes=1))
    course.members[student.user_id].status = "Active"

    back = launch(canvas, LaunchSpec(student, course))
    stale = old.session.get(old.landing, timeout=10)

    assert back.status_code == 200, back.text[:300]
    assert Membership.objects.get(pk=dropped.pk).is_active
    assert stale.status_code == 403 and error_code(stale) == "membership_revoked"


def test_a_registration_turned_off_ends_its_open_pages(canvas, course, student, tool_url):
    learner = seat(canvas, LaunchSpec(student, course))
    Registration.objects.filter(pk=registration_of(canvas).pk).update(is_active=False)

    page = learner.session.get(learner.landing, timeout=10)

    assert page.status_code == 403 and error_code(page) == "registration_inactive"


def test_a_teacher_dropped_from_a_course_is_not_offered_its_quizzes_in_another(
    canvas, course, course_b, instructor, tool_url
):
    original = make_quiz(seat(canvas, LaunchSpec(instructor, course)), count=2, types=["true_false"])
    Quiz.objects.filter(pk=original.pk).update(status=Quiz.Status.PUBLISHED)
    picking = seat(canvas, LaunchSpec(instructor, course_b, message_type="LtiDeepLinkingRequest"))
    offered = requests.get(f"{tool_url}/quizzes/pick/", params={"launch": picking.launch_id}, timeout=10)
    assert original.title in offered.text  # still a member of course A: A's quiz may be copied into B

    Membership.objects.filter(context__context_id=course.context_id, user__sub=instructor.user_id).update(
        is_active=False, revoked_at=timezone.now()
    )
    again = requests.get(f"{tool_url}/quizzes/pick/", params={"launch": picking.launch_id}, timeout=10)

    assert again.status_code == 200 and original.title not in again.text


def test_a_proof_that_is_not_ascii_is_refused_like_a_wrong_one(canvas, course, course_b, instructor, tool_url):
    quiz = make_quiz(seat(canvas, LaunchSpec(instructor, course)), count=1, types=["true_false"])
    seat(canvas, LaunchSpec(instructor, course_b))
    before = rows()

    def typed(proof: str) -> requests.Response:
        custom = {"activity": f"quiz:{quiz.pk}", "activity_sig": proof}
        return launch(canvas, LaunchSpec(instructor, course_b, resource_link_id="rl-typed", custom=custom))

    odd, wrong = typed("\u00e9" * 64), typed("0" * 64)

    assert odd.status_code == wrong.status_code == 404
    assert refusal(odd) == refusal(wrong)
    assert rows() == before


def test_a_learner_cannot_open_a_draft_quiz_of_the_course_by_id(canvas, course, instructor, student, tool_url):
    draft = make_quiz(seat(canvas, LaunchSpec(instructor, course)), count=1, types=["true_false"])
    Quiz.objects.filter(pk=draft.pk).update(status=Quiz.Status.DRAFT, published_at=None)
    sam = seat(canvas, LaunchSpec(student, course))

    opened = requests.get(f"{tool_url}/quizzes/{draft.pk}/take/", params={"launch": sam.launch_id}, timeout=10)
    missing = requests.get(f"{tool_url}/quizzes/987654/take/", params={"launch": sam.launch_id}, timeout=10)

    assert opened.status_code == missing.status_code == 404
    assert draft.title not in opened.text
