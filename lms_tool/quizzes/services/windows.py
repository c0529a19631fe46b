"""When a quiz can be taken: open, due and close dates, the late policy, and the learner's own timer extensions.

Dates are stored in UTC (docs/assessment.md, "Dates and time zones"). A platform that sends the assignment's
dates with the launch (custom parameters, ``lms_tool.lti.timezones.platform_dates``) replaces the tool's dates
as a whole: its blanks mean "no such date" there, and the page says the dates come from the platform.

The server enforces every limit: an attempt's ``deadline`` is the earliest of its time limit (with the learner's
allowance), the close date, and the due date when late work is refused. The page's timer only displays it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from lms_tool.core.services import audit_record
from lms_tool.lti.models import LtiUser
from lms_tool.lti.timezones import ActivityWindow, PersonZone, activity_window, local_format
from lms_tool.lti.types import LtiLaunch

from ..errors import QuizError
from ..models import Attempt, LatePolicy, Quiz

# WCAG 2.2.1 (Timing Adjustable) asks that a person can extend at least ten times.
MAX_EXTENSIONS = 10
MAX_EXTENSION_MINUTES = 240
# A submit that arrives a little after the due date (the network) is not late (services/attempts.py GRACE).
LATE_GRACE = timedelta(seconds=30)


QuizWindow = ActivityWindow


def window_of(*, quiz: Quiz, launch: LtiLaunch | None) -> QuizWindow:
    """The dates that apply to ``launch``: the platform's when it sent any, else the quiz's own."""
    return activity_window(launch, opens_at=quiz.opens_at, due_at=quiz.due_at, closes_at=quiz.closes_at)


def window_state(window: QuizWindow, now: datetime | None = None) -> str:
    """ "not_open", "open", "late" (past due, before the close) or "closed"."""
    now = now or timezone.now()
    if window.opens_at is not None and now < window.opens_at:
        return "not_open"
    if window.closes_at is not None and now >= window.closes_at:
        return "closed"
    if window.due_at is not None and now >= window.due_at:
        return "late"
    return "open"


def dates_check(*, opens_at: datetime | None, due_at: datetime | None, closes_at: datetime | None) -> None:
    """Refuse dates that cannot all hold, in words an instructor can act on."""
    if opens_at and closes_at and closes_at <= opens_at:
        raise QuizError(gettext("The close time must be after the open time."))
    if opens_at and due_at and due_at <= opens_at:
        raise QuizError(gettext("The due time must be after the open time."))
    if due_at and closes_at and closes_at < due_at:
        raise QuizError(
            gettext("The close time cannot be before the due time (late work is only possible in between).")
        )


def start_check(*, quiz: Quiz, window: QuizWindow, zone: PersonZone | None = None, now: datetime | None = None) -> None:
    """Refuse a new attempt outside the window (a started one goes on until its deadline)."""
    state = window_state(window, now)
    when = (lambda d: local_format(d, zone)) if zone is not None else (lambda d: f"{d:%Y-%m-%d %H:%M} UTC")
    if state == "not_open" and window.opens_at is not None:
        raise QuizError(gettext("This quiz opens on %(when)s.") % {"when": when(window.opens_at)}, status=409)
    if state == "closed" and window.closes_at is not None:
        raise QuizError(
            gettext("This quiz closed on %(when)s; no new attempt can be started.") % {"when": when(window.closes_at)},
            status=409,
        )
    if state == "late" and quiz.late_policy == LatePolicy.REFUSE and window.due_at is not None:
        raise QuizError(
            gettext(
                "This quiz was due on %(when)s and does not accept late attempts. "
                "Ask your instructor if you need more time."
            )
            % {"when": when(window.due_at)},
            status=409,
        )


def hard_end(*, quiz: Quiz, window: QuizWindow) -> datetime | None:
    """The moment after which nothing can be submitted: the close, or the due date when late work is refused."""
    ends = [d for d in (window.closes_at,) if d is not None]
    if quiz.late_policy == LatePolicy.REFUSE and window.due_at is not None:
        ends.append(window.due_at)
    return min(ends) if ends else None


def attempt_deadline(*, limit: timedelta | None, end: datetime | None, now: datetime) -> datetime | None:
    """The earliest of the time limit (from ``now``) and the hard end."""
    candidates = [d for d in ((now + limit) if limit else None, end) if d is not None]
    return min(candidates) if candidates else None


def late_apply(*, attempt: Attempt) -> None:
    """At grading (in the submitting transaction): mark a late attempt and take the quiz's penalty off its score."""
    if attempt.due_at is None or attempt.submitted_at is None:
        return
    if attempt.submitted_at <= attempt.due_at + LATE_GRACE or attempt.is_preview:
        return
    attempt.is_late = True
    quiz = attempt.quiz
    if quiz.late_policy == LatePolicy.PENALTY and quiz.late_penalty_percent:
        attempt.late_penalty_percent = min(100, quiz.late_penalty_percent)
        attempt.score = late_score(attempt.score or 0.0, attempt.late_penalty_percent)


def late_comment(attempt: Attempt) -> str:
    """What the gradebook's comment says of a late attempt (empty for one on time)."""
    if not attempt.is_late:
        return ""
    if attempt.late_penalty_percent:
        return f"Submitted late: {attempt.late_penalty_percent}% taken off, as the quiz's late policy says."
    return "Submitted late."


def late_score(score: float, penalty_percent: int) -> float:
    return round(score * (100 - penalty_percent) / 100, 4)


@transaction.atomic
def quiz_dates_update(
    *,
    quiz: Quiz,
    user: LtiUser,
    opens_at: datetime | None,
    due_at: datetime | None,
    closes_at: datetime | None,
    late_policy: str,
    late_penalty_percent: int,
    timer_extension_minutes: int,
) -> Quiz:
    """Save a quiz's dates and policies: all of them, or nothing when one is wrong."""
    dates_check(opens_at=opens_at, due_at=due_at, closes_at=closes_at)
    if late_policy not in LatePolicy.values:
        raise QuizError(gettext("Choose one of the late-submission policies shown."))
    if not 0 <= late_penalty_percent <= 100:
        raise QuizError(gettext("The late penalty is a percentage between 0 and 100."))
    if late_policy == LatePolicy.PENALTY and not late_penalty_percent:
        raise QuizError(gettext("Give the penalty (a percentage above 0) or choose another late policy."))
    if not 0 <= timer_extension_minutes <= MAX_EXTENSION_MINUTES:
        raise QuizError(gettext("A timer extension is between 0 and %(max)d minutes.") % {"max": MAX_EXTENSION_MINUTES})
    fields = ("opens_at", "due_at", "closes_at", "late_policy", "late_penalty_percent", "timer_extension_minutes")
    before = {f: _plain(getattr(quiz, f)) for f in fields}
    quiz.opens_at, quiz.due_at, quiz.closes_at = opens_at, due_at, closes_at
    quiz.late_policy, quiz.late_penalty_percent = late_policy, late_penalty_percent
    quiz.timer_extension_minutes = timer_extension_minutes
    quiz.save(update_fields=[*fields, "updated_at"])
    audit_record(
        actor_type="user",
        actor_id=str(user.pk),
        action="quiz.dates",
        object_type="quiz",
        object_id=quiz.pk,
        before=before,
        after={f: _plain(getattr(quiz, f)) for f in fields},
    )
    return quiz


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def extensions_left(attempt: Attempt) -> int:
    if not attempt.quiz.timer_extension_minutes or attempt.deadline is None:
        return 0
    return max(0, MAX_EXTENSIONS - attempt.extensions_used)


@transaction.atomic
def attempt_extend(*, attempt: Attempt) -> Attempt:
    """The learner adds the quiz's extension to their own timer (WCAG 2.2.1), never past the hard end."""
    attempt = Attempt.objects.select_for_update(of=("self",)).select_related("quiz").get(pk=attempt.pk)
    minutes = attempt.quiz.timer_extension_minutes
    now = timezone.now()
    if not attempt.is_open:
        raise QuizError(gettext("This attempt has been submitted; its time cannot change."), status=409)
    if not minutes or attempt.deadline is None:
        raise QuizError(gettext("Your instructor has not allowed extending the time of this quiz."), status=403)
    if attempt.extensions_used >= MAX_EXTENSIONS:
        raise QuizError(
            gettext("You have used all %(count)s extensions of this attempt.") % {"count": MAX_EXTENSIONS}, status=409
        )
    if now > attempt.deadline + LATE_GRACE:
        raise QuizError(gettext("The time for this attempt is up; the answers saved before then count."), status=409)
    extended = attempt.deadline + timedelta(minutes=minutes)
    if attempt.closes_at is not None:
        extended = min(extended, attempt.closes_at)
    if extended <= attempt.deadline:
        raise QuizError(
            gettext("The quiz closes at %(when)s UTC; the time cannot be extended past it.")
            % {"when": f"{attempt.closes_at:%Y-%m-%d %H:%M}"},
            status=409,
        )
    before = attempt.deadline
    attempt.deadline, attempt.extensions_used = extended, attempt.extensions_used + 1
    attempt.save(update_fields=["deadline", "extensions_used"])
    audit_record(
        actor_type="user",
        actor_id=str(attempt.user_id),
        action="quiz.attempt.extend",
        object_type="quiz_attempt",
        object_id=attempt.pk,
        before={"deadline": before.isoformat()},
        after={"deadline": extended.isoformat(), "extensions_used": attempt.extensions_used},
    )
    return attempt
