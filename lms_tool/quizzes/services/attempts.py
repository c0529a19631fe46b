"""Attempts: start (or resume), save answers as they are given, submit once; grade and hand the score on.

Submitting is idempotent: the attempt row is locked and a second submit returns the first result.
The score goes to the grading app's outbox (``score_submit``) in the same transaction that marks the
attempt submitted, so the gradebook never misses a submission and never gets one twice.
"""

from __future__ import annotations

import contextlib
import functools
import math
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from django.db import IntegrityError, connections, router, transaction
from django.db.models import Field
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext, ngettext

from lms_tool.ai import ProviderError
from lms_tool.ai.policy import provider_for
from lms_tool.core import lean
from lms_tool.core.events import event_record
from lms_tool.core.services import audit_record, audit_together
from lms_tool.lti.ai_control import ai_control_of
from lms_tool.lti.models import Context, LtiUser, Registration, ResourceLink
from lms_tool.lti.timezones import PersonZone, launch_zone
from lms_tool.lti.types import LtiLaunch

from ..errors import QuizError
from ..models import Answer, Attempt, Question, Quiz
from . import accommodations, windows
from .delivery import attempt_draw, attempt_questions_record
from .grading import FreeTextGrade, grade_free_text, grade_objective

# Answers that arrive with the submit a little after the deadline (the network) still count.
GRACE = timedelta(seconds=30)
MAX_TEXT_ANSWER = 10_000


class AttemptSubmitted(QuizError):
    """An answer to an attempt already submitted: the page turns read-only and links to the result."""

    code = "attempt_submitted"

    def __init__(self) -> None:
        super().__init__(gettext("This attempt has been submitted; answers can no longer change."), status=409)


class TimeUp(QuizError):
    """An answer after the time limit (and its grace): the attempt is submitted with what was saved by then."""

    code = "time_up"

    def __init__(self) -> None:
        super().__init__(gettext("The time for this attempt is up; the answers saved before then count."), status=409)


def attempts_used(*, quiz: Quiz, user: LtiUser, resource_link: ResourceLink | None) -> int:
    return Attempt.objects.filter(quiz=quiz, user=user, resource_link=resource_link).count()


# More than any learner's attempts at one quiz (the most a quiz allows is far fewer, services/accommodations.py).
_ATTEMPTS_READ = 100_000


@functools.cache
def _quiz_lock_sql() -> str:
    return f"SELECT id FROM {Quiz._meta.db_table} WHERE id = %s FOR UPDATE"  # noqa: S608 - table name only


def _quiz_lock(quiz_pk: int) -> None:
    """Lock the quiz's row until the transaction ends, as ``select_for_update()`` does (where the database
    locks rows: SQLite serialises writers by itself and has no FOR UPDATE), without compiling a query."""
    connection = connections[router.db_for_write(Quiz)]
    if connection.features.has_select_for_update:
        with connection.cursor() as cursor:
            cursor.execute(_quiz_lock_sql(), [quiz_pk])


@transaction.atomic
def attempt_start(
    *,
    quiz: Quiz,
    user: LtiUser,
    resource_link: ResourceLink | None,
    preview: bool = False,
    window: windows.QuizWindow | None = None,
    zone: PersonZone | None = None,
) -> Attempt:
    """The open attempt, or a new one if the quiz (its dates, the learner's allowance) allows another.

    ``window``: the dates of the launch (the platform's win, services/windows.py); the quiz's own without one."""
    if not quiz.is_published and not preview:
        raise QuizError(gettext("This quiz is not published yet."), status=409)
    _quiz_lock(quiz.pk)  # serialises starts of this quiz
    # A learner's attempts at one quiz are few: one query for both needs, read lean (every start).
    earlier = sorted(
        lean.rows(Attempt, {"quiz": quiz.pk, "user": user.pk, "resource_link": resource_link}, limit=_ATTEMPTS_READ),
        key=lambda a: a.number,
    )
    open_attempt = next((a for a in earlier if a.state == Attempt.State.IN_PROGRESS), None)
    if open_attempt is not None:
        return open_attempt
    used = len(earlier)
    now = timezone.now()
    window = window if window is not None else windows.window_of(quiz=quiz, launch=None)
    allowance = None if preview else accommodations.accommodation_of(context_id=quiz.context_id, user_id=user.pk)
    allowed = accommodations.attempts_allowed(quiz=quiz, user_id=user.pk, allowance=allowance)
    if allowed and used >= allowed and not preview:
        raise QuizError(
            ngettext(
                "You have used your %(allowed)s attempt at this quiz.",
                "You have used all %(allowed)s attempts at this quiz.",
                allowed,
            )
            % {"allowed": allowed},
            status=409,
        )
    if not preview:
        windows.start_check(quiz=quiz, window=window, zone=zone, now=now)
    drawn = attempt_draw(quiz=quiz)  # the draw and orders, recorded below (services/delivery.py)
    question_ids = [d.question_id for d in drawn]
    if not question_ids:
        raise QuizError(gettext("This quiz has no approved questions yet."), status=409)
    end = None if preview else windows.hard_end(quiz=quiz, window=window)
    limit = accommodations.time_limit_for(quiz=quiz, user_id=user.pk, allowance=allowance)
    deadline = windows.attempt_deadline(limit=limit, end=end, now=now)
    # Where the quiz's lock holds (PostgreSQL), a start that got past it finds any attempt made before it, so the
    # insert cannot meet another's: no savepoint (two round trips of every start). Elsewhere the savepoint lets a
    # double click that raced on the unique number find the attempt made by the other.
    connection = connections[router.db_for_write(Attempt)]
    try:
        with transaction.atomic(savepoint=not connection.features.has_select_for_update):
            (attempt,) = lean.insert_many(  # as Attempt.objects.create writes it, in a statement built once
                Attempt,
                [
                    Attempt(
                        quiz=quiz,
                        user=user,
                        resource_link=resource_link,
                        number=used + 1,
                        quiz_version=quiz.version,
                        question_ids=question_ids,
                        started_at=now,
                        deadline=deadline,
                        due_at=None if preview else window.due_at,
                        closes_at=end,
                        is_preview=preview,
                    )
                ],
            )
            attempt_questions_record(attempt=attempt, drawn=drawn)
    except IntegrityError:  # a double click that raced past the lock on another database
        return Attempt.objects.get(quiz=quiz, user=user, resource_link=resource_link, number=used + 1)
    # Learning records start here (xAPI "attempted", docs/xapi.md); a preview is the instructor trying it out.
    event_record(
        type="attempt.started",
        subject_type="quiz_attempt",
        subject_id=attempt.pk,
        context_pk=resource_link.context_id if resource_link is not None else None,
        data={"quiz": quiz.pk, "user": user.pk, "number": attempt.number, "preview": preview},
    )
    return attempt


def response_clean(question: Question, value: Any) -> Any:
    """A response as stored: option indices, a number, or text; ``QuizError`` if it cannot be one."""
    if value is None or value == "" or value == []:
        return None
    if question.is_choice:
        values = value if isinstance(value, list) else [value]
        try:
            indices = sorted({int(v) for v in values})
        except (TypeError, ValueError):
            raise QuizError(gettext("Choose one of the options shown.")) from None
        if any(not 0 <= i < len(question.options) for i in indices):
            raise QuizError(gettext("Choose one of the options shown."))
        if question.type != Question.Type.MULTIPLE and len(indices) > 1:
            raise QuizError(gettext("Choose only one option for this question."))
        return indices
    if question.type == Question.Type.NUMERIC:
        try:
            number = float(str(value).strip().replace(",", "."))
        except ValueError:
            raise QuizError(
                gettext("%(value)s is not a number; write it like 42 or 3.5.") % {"value": repr(value)}
            ) from None
        if not math.isfinite(number):
            raise QuizError(gettext("Write a finite number."))
        return number
    text = str(value)
    if len(text) > MAX_TEXT_ANSWER:
        raise QuizError(
            gettext("Answers are limited to %(limit)s characters.")
            % {"limit": number_format(MAX_TEXT_ANSWER, force_grouping=True)},
            status=413,
        )
    return text


def attempt_open(*, quiz: Quiz, launch: LtiLaunch, user: LtiUser) -> Attempt:
    """Start or resume ``quiz`` from a launch: the attempt belongs to the launch's link of the quiz's course."""
    link = None
    if launch.resource_link_pk is not None and launch.context_pk == quiz.context_id:
        # A launch records its link under its own course (lti/services._resource_link), here the quiz's: the link
        # as a reference (key and course), not read again.
        link = lean.reference(ResourceLink, id=launch.resource_link_pk, context_id=quiz.context_id)
    return attempt_start(
        quiz=quiz,
        user=user,
        resource_link=link,
        preview=launch.is_staff,
        window=windows.window_of(quiz=quiz, launch=launch),
        zone=launch_zone(launch),
    )


def attempt_current(*, attempt: Attempt) -> Attempt:
    """The attempt as a page should show it: one whose time ran out is submitted now with the answers saved
    in time (the beat does the same for pages nobody opens, ``attempts_close_expired``)."""
    if attempt.is_open and attempt.is_past_deadline():
        return attempt_submit(attempt=attempt)
    return attempt


def _open_or_refuse(attempt: Attempt, *, grace: timedelta = timedelta(0), now: datetime | None = None) -> None:
    if not attempt.is_open:
        raise AttemptSubmitted()
    if attempt.deadline is not None and (now or timezone.now()) > attempt.deadline + grace:
        raise TimeUp()


# What saving an answer reads of its question: the response's shape and the points (no prompt, no explanation).
QUESTION_FOR_ANSWER = ("id", "type", "options", "points")


def _questions_of(attempt: Attempt, question_ids: Any = None) -> dict[int, Question]:
    ids = [
        qid for qid in (attempt.question_ids if question_ids is None else question_ids) if qid in attempt.question_ids
    ]
    if len(ids) == 1:  # an autosave: one lean read, not a compiled query (the page sends one every few seconds)
        question = lean.first(Question, {"id": ids[0]}, without=lean.only(Question, *QUESTION_FOR_ANSWER))
        return {question.pk: question} if question is not None else {}
    return Question.objects.only(*QUESTION_FOR_ANSWER).in_bulk(ids) if ids else {}


def _answers_of(
    *, attempt_id: int, cleaned: dict[int, Any], questions: dict[int, Question], graded: bool = False
) -> tuple[list[Answer], tuple[str, ...]]:
    """The answers as rows, and the fields a second save of the same question overwrites.

    ``graded``: the submit of objective questions, whole: each answer is written with its exact grade too, so
    grading need neither read nor update them again (services/scoring.py)."""
    answers = [
        Answer(attempt_id=attempt_id, question_id=qid, response=value, max_score=questions[qid].points)
        for qid, value in cleaned.items()
    ]
    fields = ["response", "saved_at", "max_score"]
    if graded:
        for answer in answers:
            answer.score = grade_objective(questions[answer.question_id], answer.response)
            answer.graded_by = Answer.GradedBy.EXACT
        fields += ["score", "graded_by"]
    return answers, tuple(fields)


def _answers_upsert(
    *, attempt_id: int, cleaned: dict[int, Any], questions: dict[int, Question], graded: bool = False
) -> list[Answer]:
    """Every answer in one statement (an upsert on the attempt and question): a whole form costs what one answer
    costs (docs/benchmarks.md, "Burst"). The caller holds the attempt's row lock."""
    answers, fields = _answers_of(attempt_id=attempt_id, cleaned=cleaned, questions=questions, graded=graded)
    return lean.upsert_many(Answer, answers, unique=("attempt", "question"), update=fields)


@functools.cache
def _open_sql(share: bool) -> str:
    table = Attempt._meta.db_table
    return (  # identifiers from the model's metadata, values as parameters
        f"EXISTS (SELECT 1 FROM {table} WHERE id = %s AND state = %s AND (deadline IS NULL OR deadline >= %s)"  # noqa: S608
        + (" FOR SHARE)" if share else ")")
    )


def _answers_write(*, attempt: Attempt, cleaned: dict[int, Any], questions: dict[int, Question]) -> list[Answer]:
    """Write the answers if the attempt is still open and in time (with the grace) when they are written, else
    refuse as ``_open_or_refuse`` does. One statement, no transaction around it (every autosave): it holds the
    attempt's row FOR SHARE while it writes, so a submit, which locks that row FOR UPDATE, either waits for the
    write and grades it, or goes first and the write, finding the attempt submitted, writes nothing."""
    answers, fields = _answers_of(attempt_id=attempt.pk, cleaned=cleaned, questions=questions)
    connection = connections[router.db_for_write(Answer)]
    now = timezone.now()
    # SQLite has no row locks: it serialises writers itself, and the statement reads and writes as one.
    share = connection.features.has_select_for_update
    deadline = cast(Field, Attempt._meta.get_field("deadline")).get_db_prep_value(now - GRACE, connection)
    where = [attempt.pk, str(Attempt.State.IN_PROGRESS), deadline]
    unique = ("attempt", "question")
    if lean.upsert_many_where(Answer, answers, unique=unique, update=fields, where=_open_sql(share), params=where):
        return answers
    # Nothing written: say why (or, with no answers to write, check the attempt is still open, as a write would).
    found = lean.first(Attempt, {"id": attempt.pk}, without=lean.only(Attempt, "state", "deadline"))
    if found is None:  # deleted meanwhile: as the ORM's get() would say
        raise Attempt.DoesNotExist
    _open_or_refuse(found, grace=GRACE, now=now)
    if answers:
        raise AttemptSubmitted()  # not reached: the statement wrote nothing only for an attempt closed or out of time
    return answers


def answer_save(*, attempt: Attempt, question_id: int, response: Any, question: Question | None = None) -> Answer:
    """Save one answer as it is given (autosave): a dropped connection loses nothing already sent.

    ``question``: the question, read with the attempt (``selectors.attempt_with_question_for_launch``)."""
    _open_or_refuse(attempt, grace=GRACE)  # said before any complaint about the answer; checked again as it is written
    if question_id not in attempt.question_ids:
        raise QuizError(gettext("That question is not part of this attempt."), status=404)
    if question is not None and question.pk == question_id:
        questions = {question_id: question}
    else:
        questions = _questions_of(attempt, [question_id])
    if question_id not in questions:
        raise QuizError(gettext("That question is not part of this attempt."), status=404)
    cleaned = {question_id: response_clean(questions[question_id], response)}
    return _answers_write(attempt=attempt, cleaned=cleaned, questions=questions)[0]


class Form(Protocol):
    """A posted form as Django's ``QueryDict`` reads it."""

    def __contains__(self, key: object) -> bool: ...
    def get(self, key: str, default: Any = None) -> Any: ...
    def getlist(self, key: str) -> list[Any]: ...


def responses_from_form(questions: dict[int, Question], form: Form) -> dict[int, Any]:
    """Answers posted with the whole form: ``q<id>`` fields (several values for multiple choice, whose
    ``q<id>_present`` says the question was on the page even with every box unticked)."""
    out: dict[int, Any] = {}
    for qid, question in questions.items():
        key = f"q{qid}"
        if question.type == Question.Type.MULTIPLE:
            if key in form or f"{key}_present" in form:
                out[qid] = form.getlist(key)
        elif key in form:
            out[qid] = form.get(key)
    return out


def answers_save(*, attempt: Attempt, responses: dict[int, Any] | None = None, form: Form | None = None) -> None:
    """Save a whole form of answers (the page's "Save" without scripts): all of them, or none if one cannot be."""
    _open_or_refuse(attempt, grace=GRACE)
    questions = _questions_of(attempt, None if responses is None else list(responses))
    if responses is None:
        responses = responses_from_form(questions, form) if form is not None else {}
    _answers_write(attempt=attempt, cleaned=_responses_clean(attempt, responses, questions), questions=questions)


def attempt_submit(*, attempt: Attempt, responses: dict[int, Any] | None = None, form: Form | None = None) -> Attempt:
    """Submit (idempotent) with the answers sent along (``responses``, or the page's ``form``).

    An answer that cannot be one (a word for a number) refuses the whole submit, naming the question, before
    anything is written. Answers sent after the time limit (and its grace) are dropped: the attempt is
    submitted with what was saved in time. After a submit (a double click, a retry) the first one stands.
    Without free text the answers are written, graded and the score queued under one lock; free text is
    graded by the provider between the two, so the row lock is never held across a provider call."""
    # Whole questions: grading reads their keys too (services/scoring.py), so they are read once for both.
    questions = _questions_whole(attempt.question_ids)
    cleaned: dict[int, Any] = {}
    if attempt.is_open:
        if responses is None:
            responses = responses_from_form(questions, form) if form is not None else {}
        cleaned = _responses_clean(attempt, responses, questions)
    if not any(q.type == Question.Type.FREE_TEXT for q in questions.values()):
        return _submit(attempt_id=attempt.pk, ai_grades={}, questions=questions, cleaned=cleaned)
    if cleaned:
        with contextlib.suppress(AttemptSubmitted, TimeUp):  # submitted with what was saved in time
            _answers_write(attempt=attempt, cleaned=cleaned, questions=questions)
    return _submit(attempt_id=attempt.pk, ai_grades=_grade_free_text(attempt), questions=questions)


def _questions_whole(ids: list[int]) -> dict[int, Question]:
    """``Question.objects.in_bulk(ids)``, read lean (every submit)."""
    if not ids:
        return {}
    tail = f"FROM {Question._meta.db_table} q WHERE q.id IN ({', '.join(['%s'] * len(ids))})"
    return {q.pk: q for (q,) in lean.joined_from(((Question, "q", frozenset()),), (), tail, list(ids))}


def _responses_clean(attempt: Attempt, responses: dict[int, Any], questions: dict[int, Question]) -> dict[int, Any]:
    """{question id: response as stored} for the attempt's questions among ``responses``; the first one that
    cannot be an answer refuses them all, naming its number on the page."""
    cleaned: dict[int, Any] = {}
    for number, question_id in enumerate(attempt.question_ids, start=1):
        if question_id in responses and question_id in questions:
            try:
                cleaned[question_id] = response_clean(questions[question_id], responses[question_id])
            except QuizError as error:
                raise QuizError(
                    gettext("Question %(number)s: %(problem)s") % {"number": number, "problem": error.user_message},
                    status=error.status,
                ) from None
    return cleaned


def _grade_free_text(attempt: Attempt) -> dict[tuple[int, str], FreeTextGrade]:
    answers = list(
        Answer.objects.filter(attempt=attempt, question__type=Question.Type.FREE_TEXT).select_related("question")
    )
    grades: dict[tuple[int, str], FreeTextGrade] = {}
    if not attempt.is_open or not answers:
        return grades
    # Graded as the registration allows (docs/ai-control.md): off or over budget, the offline grader grades.
    provider = provider_for(ai_control_of(attempt.quiz.context.registration_id))
    for answer in answers:
        text = str(answer.response or "")
        try:
            grades[(answer.question_id, text)] = grade_free_text(provider, answer.question, text)
        except ProviderError as exc:
            grades[(answer.question_id, text)] = FreeTextGrade(0.0, 0.0, f"Not graded: {exc}. Please grade it.", "")
    return grades


# What submitting reads with the attempt it locks: its quiz, learner and link with the link's course and platform.
# Not the course text the quiz was made from, nor the learner's name and addresses (decrypted for nothing):
# grading and the gradebook read neither.
_LOCKED_PARTS: tuple[lean.Part, ...] = (
    (Attempt, "a", frozenset()),
    (Quiz, "q", frozenset({"source_text"})),
    (LtiUser, "u", frozenset({"name", "email", "sis_id"})),
    (ResourceLink, "r", frozenset()),
    (Context, "x", frozenset()),
    (Registration, "g", frozenset()),
)


@functools.cache
def _locked_tail(lock: str) -> str:
    a, q, u, r, x, g = (part[0]._meta.db_table for part in _LOCKED_PARTS)
    return (
        f"FROM {a} a JOIN {q} q ON a.quiz_id = q.id JOIN {u} u ON a.user_id = u.id "
        f"LEFT JOIN {r} r ON a.resource_link_id = r.id LEFT JOIN {x} x ON r.context_id = x.id "
        f"LEFT JOIN {g} g ON x.registration_id = g.id WHERE a.id = %s{lock}"
    )


def _attempt_locked(attempt_id: int) -> Attempt:
    """``Attempt.objects.select_for_update(of=("self",)).select_related("quiz", "user",
    "resource_link__context__registration").get(pk=attempt_id)`` in one statement built once (the attempt's row
    locked where the database locks rows; SQLite serialises writers by itself)."""
    features = connections[router.db_for_write(Attempt)].features
    lock = " FOR UPDATE OF a" if features.has_select_for_update_of else ""
    found = lean.joined_from(_LOCKED_PARTS, (), _locked_tail(lock), [attempt_id])
    if not found:
        raise Attempt.DoesNotExist(f"attempt {attempt_id}")
    attempt, quiz, user, link, context, registration = found[0]
    attempt.quiz, attempt.user = quiz, user
    if attempt.resource_link_id is not None:
        context.registration = registration
        link.context = context
        attempt.resource_link = link
    return attempt


@transaction.atomic
def _submit(
    *,
    attempt_id: int,
    ai_grades: dict[tuple[int, str], FreeTextGrade],
    questions: dict[int, Question] | None = None,
    cleaned: dict[int, Any] | None = None,
) -> Attempt:
    """Grade and submit under the attempt's row lock, writing ``cleaned`` answers first if they are in time."""
    attempt = _attempt_locked(attempt_id)
    if not attempt.is_open:
        return attempt  # a second submit (double click, retry): harmless
    written = None
    if cleaned and questions is not None and not attempt.is_past_deadline(timezone.now() - GRACE):
        # The whole form of an objective quiz (the usual submit): the answers are written graded, and they are
        # all the attempt's answers (one per question), so grading reads none back.
        whole = set(cleaned) == set(attempt.question_ids) == set(questions) and not any(
            q.type == Question.Type.FREE_TEXT for q in questions.values()
        )
        upserted = _answers_upsert(attempt_id=attempt.pk, cleaned=cleaned, questions=questions, graded=whole)
        written = upserted if whole else None
    from .scoring import attempt_grade

    with audit_together():  # the score's audit line and the submit's, one statement
        attempt_grade(attempt=attempt, ai_grades=ai_grades, questions=questions, graded=written)
        audit_record(
            actor_type="user",
            actor_id=str(attempt.user_id),
            action="quiz.attempt.submit",
            object_type="quiz_attempt",
            object_id=attempt.pk,
            after={"score": attempt.score, "max": attempt.score_maximum, "needs_review": attempt.needs_review},
        )
    event_record(
        type="attempt.submitted",
        subject_type="quiz_attempt",
        subject_id=attempt.pk,
        context_pk=attempt.resource_link.context_id if attempt.resource_link is not None else None,
        data={
            "quiz": attempt.quiz_id,
            "user": attempt.user_id,
            "score": attempt.score,
            "score_maximum": attempt.score_maximum,
            "needs_review": attempt.needs_review,
        },
    )
    return attempt


def attempts_close_expired(*, now: Any = None) -> int:
    """Submit the attempts whose time ran out with the answers saved by then (run by the beat)."""
    now = now or timezone.now()
    closed = 0
    expired = Attempt.objects.filter(state=Attempt.State.IN_PROGRESS, deadline__lt=now - GRACE)
    for attempt in expired.iterator():
        attempt_submit(attempt=attempt)
        closed += 1
    return closed
