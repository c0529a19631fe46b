"""Delivering a quiz under its integrity settings: the draw, the orders, the pages, and what a learner may see.

Everything a learner is given is decided once, when the attempt starts, and recorded on it (``AttemptQuestion``
rows and ``Attempt.question_ids``): which questions were drawn, in which order, and the order of each question's
options. A reload, Back, or a new launch shows the same thing; grading reads the same draw, so the maximum is the
drawn questions' points. Options keep their index as written (the form sends that index, never a position on the
page), so a shuffled order cannot change a grade. See docs/assessment.md, "Integrity settings".
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext, ngettext

from lms_tool.core import lean
from lms_tool.core.services import audit_record
from lms_tool.lti.models import LtiUser

from ..errors import QuizError
from ..models import AnswerRelease, Attempt, AttemptQuestion, Question, Quiz

log = logging.getLogger(__name__)

# Orders learners must not be able to predict (random.SystemRandom draws from the operating system).
_RANDOM = random.SystemRandom()
# More than any quiz's questions (a draw reads them all).
_POOL_READ = 100_000
# True / false keeps its conventional order: shuffling two options hides nothing.
SHUFFLED_TYPES = (Question.Type.SINGLE, Question.Type.MULTIPLE)


@dataclass(frozen=True)
class Drawn:
    """One question given to an attempt, and the order its options are shown in (empty: as written)."""

    question_id: int
    option_order: list[int]


# -- settings ----------------------------------------------------------------------------------------------


def quiz_pool_size(quiz: Quiz) -> int:
    """The approved questions a draw picks from."""
    return quiz.questions.approved().count()


def quiz_draw_check(quiz: Quiz, draw_count: int | None = None, pool: int | None = None) -> None:
    """Refuse a draw larger than the approved pool, saying what to change (settings and publishing)."""
    draw = quiz.draw_count if draw_count is None else draw_count
    if not draw:
        return
    pool = quiz_pool_size(quiz) if pool is None else pool
    if draw > pool:
        raise QuizError(
            ngettext(
                "Each learner cannot draw %(draw)s questions: the quiz has %(pool)s approved question. Approve or "
                "write more questions, or draw at most %(pool)s (leave the field empty to give every question).",
                "Each learner cannot draw %(draw)s questions: the quiz has %(pool)s approved questions. Approve or "
                "write more questions, or draw at most %(pool)s (leave the field empty to give every question).",
                pool,
            )
            % {"draw": draw, "pool": pool}
        )


@transaction.atomic
def quiz_integrity_update(
    *,
    quiz: Quiz,
    user: LtiUser | None,
    shuffle_questions: bool,
    shuffle_options: bool,
    draw_count: int | None,
    show_answers: str,
    one_per_page: bool,
    allow_review: bool,
) -> Quiz:
    """Save the integrity settings; attempts already started keep what they were given."""
    quiz = Quiz.objects.select_for_update().get(pk=quiz.pk)
    if draw_count is not None and draw_count < 1:
        raise QuizError(gettext("Draw at least 1 question, or leave the field empty to give every question."))
    quiz_draw_check(quiz, draw_count)
    if show_answers not in AnswerRelease.values:
        raise QuizError(gettext("Choose when learners see the correct answers from the list."))
    before = integrity_of(quiz)
    quiz.shuffle_questions, quiz.shuffle_options = bool(shuffle_questions), bool(shuffle_options)
    quiz.draw_count, quiz.show_answers = draw_count or None, show_answers
    quiz.one_per_page, quiz.allow_review = bool(one_per_page), bool(allow_review)
    quiz.save(update_fields=[*INTEGRITY_FIELDS, "updated_at"])
    audit_record(
        actor_type="user",
        actor_id=str(user.pk) if user else "",
        action="quiz.integrity",
        object_type="quiz",
        object_id=quiz.pk,
        before=before,
        after=integrity_of(quiz),
    )
    return quiz


INTEGRITY_FIELDS = (
    "shuffle_questions",
    "shuffle_options",
    "draw_count",
    "show_answers",
    "one_per_page",
    "allow_review",
)


def integrity_of(quiz: Quiz) -> dict[str, Any]:
    """The integrity settings as a dict: the settings form's initial values, the audit line, a quiz's copy."""
    return {name: getattr(quiz, name) for name in INTEGRITY_FIELDS}


# -- the draw ----------------------------------------------------------------------------------------------


def attempt_draw(*, quiz: Quiz, rng: random.Random | None = None) -> list[Drawn]:
    """The questions a new attempt gets, in order, with each one's option order.

    A draw keeps the quiz's order unless questions are shuffled. A pool that shrank below the draw after
    publishing (a question deleted) gives every question left rather than refusing the learner."""
    rng = rng or _RANDOM
    # ``quiz.questions.approved().only(...)`` in the quiz's order, read lean (every start).
    where = {"quiz": quiz.pk, "is_current": True, "status": Question.Status.APPROVED}
    pool = lean.rows(
        Question, where, limit=_POOL_READ, without=lean.only(Question, "quiz", "type", "options", "position")
    )
    pool.sort(key=lambda q: (q.position, q.pk))
    if quiz.draw_count and quiz.draw_count < len(pool):
        chosen = rng.sample(pool, quiz.draw_count)
        if not quiz.shuffle_questions:
            chosen.sort(key=lambda q: (q.position, q.pk))
    else:
        if quiz.draw_count and quiz.draw_count > len(pool):
            log.warning("quiz %s draws %s of %s approved questions: giving all", quiz.pk, quiz.draw_count, len(pool))
        chosen = pool
        if quiz.shuffle_questions:
            rng.shuffle(chosen)
    return [Drawn(q.pk, _option_order(quiz, q, rng)) for q in chosen]


def _option_order(quiz: Quiz, question: Question, rng: random.Random) -> list[int]:
    if not quiz.shuffle_options or question.type not in SHUFFLED_TYPES:
        return []
    order = list(range(len(question.options)))
    rng.shuffle(order)
    return order


def attempt_questions_record(*, attempt: Attempt, drawn: list[Drawn]) -> None:
    """Record what the attempt was given (in the transaction that creates it): one insert built once (every start)."""
    lean.insert_many(
        AttemptQuestion,
        [
            AttemptQuestion(attempt=attempt, question_id=d.question_id, position=n, option_order=d.option_order)
            for n, d in enumerate(drawn, start=1)
        ],
    )


def options_shown(question: Question, option_order: list[int]) -> list[tuple[int, str]]:
    """(index as written, text) in the order this learner sees them. An order that no longer fits the question
    (edited in place before anyone answered it) falls back to the written order."""
    count = len(question.options)
    order = option_order if sorted(option_order) == list(range(count)) and option_order else range(count)
    return [(i, question.options[i]) for i in order]


# -- pages ---------------------------------------------------------------------------------------------------


def attempt_page_number(value: str | None, count: int) -> int:
    """The question page asked for (1-based) of an attempt with ``count`` questions; out of range: 404."""
    if value in (None, ""):
        return 1
    try:
        number = int(str(value))
    except ValueError:
        number = 0
    if not 1 <= number <= count:
        raise QuizError(
            gettext("There is no such question in this attempt: its questions are 1 to %(count)s.") % {"count": count},
            status=404,
        )
    return number


# -- after the submit ----------------------------------------------------------------------------------------


def quiz_due_at(quiz: Quiz, attempt: Attempt) -> datetime | None:
    """The due date that releases answers ``after_due``. SEAM with the timing work (issue 17, parts 1-2): its
    ``due_at`` on the quiz and on the attempt (the window the attempt started under, the platform's dates
    winning); read here and only here. The later of the two, so moving a due date later holds answers back for
    everyone; no date means "not yet"."""
    return _latest(getattr(attempt, "due_at", None), getattr(quiz, "due_at", None))


def quiz_close_at(quiz: Quiz, attempt: Attempt) -> datetime | None:
    """The close that releases answers ``after_close``: ``closes_at``, by the same rule as ``quiz_due_at``."""
    return _latest(getattr(attempt, "closes_at", None), getattr(quiz, "closes_at", None))


def _latest(*values: object) -> datetime | None:
    moments = [v for v in values if isinstance(v, datetime)]
    return max(moments) if moments else None


def quiz_answers_released(quiz: Quiz, attempt: Attempt, now: datetime) -> bool:
    """May the learner see the correct answers and explanations of ``attempt`` at ``now``? Never before the
    attempt is submitted; a rule waiting for a date that is not set is "not yet"."""
    if attempt.is_open:
        return False
    rule = quiz.show_answers
    if rule == AnswerRelease.AFTER_SUBMIT:
        return True
    if rule == AnswerRelease.AFTER_DUE:
        moment = quiz_due_at(quiz, attempt)
    elif rule == AnswerRelease.AFTER_CLOSE:
        moment = quiz_close_at(quiz, attempt)
    else:
        return False
    return moment is not None and now >= moment


def answers_release_note(quiz: Quiz, attempt: Attempt) -> tuple[str, datetime | None]:
    """What a learner is told while the answers are held back (a sentence without its full stop), and the moment
    they will be shown, if known: the page shows it in the person's zone, named (``{% local_time %}``)."""
    if quiz.show_answers == AnswerRelease.NEVER:
        return gettext("Correct answers and explanations are not shown for this quiz"), None
    if quiz.show_answers == AnswerRelease.AFTER_DUE:
        return gettext("Correct answers and explanations will be shown here after the due date"), quiz_due_at(
            quiz, attempt
        )
    return gettext("Correct answers and explanations will be shown here after the quiz closes"), quiz_close_at(
        quiz, attempt
    )


def quiz_points_possible(quiz: Quiz) -> float:
    """The points an attempt is worth: all approved questions', or a draw's share of them (a draw of questions
    worth different points gives learners different maxima; the gradebook gets each attempt's own maximum)."""
    points = [q.points for q in quiz.questions.approved()]
    if quiz.draw_count and quiz.draw_count < len(points):
        return round(sum(points) * quiz.draw_count / len(points), 2)
    return sum(points)


def quiz_question_count(quiz: Quiz, pool: int) -> int:
    """How many questions a learner gets from a pool of ``pool`` approved ones."""
    return min(quiz.draw_count, pool) if quiz.draw_count else pool
