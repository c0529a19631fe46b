"""What the quiz pages show about time: ``{% quiz_timing quiz launch as timing %}`` and
``{% attempt_timing attempt launch as timing %}`` (services/windows.py, services/accommodations.py).

Tags rather than view changes keep the timing additions beside the pages' own views (docs/assessment.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django import template
from django.utils.translation import gettext

from lms_tool.lti.timezones import PersonZone, launch_zone
from lms_tool.lti.types import LtiLaunch

from ..models import Attempt, LatePolicy, Quiz
from ..services import accommodations, windows

register = template.Library()


@dataclass(frozen=True)
class QuizTiming:
    window: windows.QuizWindow
    state: str  # windows.window_state
    zone: PersonZone
    late_policy: str
    late_penalty_percent: int
    time_limit_minutes: int | None  # the learner's own, with their allowance
    allowance: str  # the learner's allowance in words, "" without one
    extension_minutes: int

    @property
    def can_start(self) -> bool:
        return self.state == "open" or (self.state == "late" and self.late_policy != LatePolicy.REFUSE)

    @property
    def late_words(self) -> str:
        if self.window.due_at is None:
            return ""
        if self.late_policy == LatePolicy.REFUSE:
            return gettext("Late submissions are not accepted: an attempt ends at the due time.")
        if self.late_policy == LatePolicy.PENALTY:
            return gettext("Late submissions are accepted with %(percent)s%% taken off the score.") % {
                "percent": self.late_penalty_percent
            }
        return gettext("Late submissions are accepted and marked late.")


@register.simple_tag
def quiz_timing(quiz: Quiz, launch: LtiLaunch) -> QuizTiming:
    window = windows.window_of(quiz=quiz, launch=launch)
    allowance = None
    if not launch.is_staff:
        allowance = accommodations.accommodation_of(context_id=quiz.context_id, user_id=launch.user_pk)
    limit = accommodations.time_limit_for(quiz=quiz, user_id=launch.user_pk, allowance=allowance)
    return QuizTiming(
        window=window,
        state=windows.window_state(window),
        zone=launch_zone(launch),
        late_policy=quiz.late_policy,
        late_penalty_percent=quiz.late_penalty_percent,
        time_limit_minutes=round(limit.total_seconds() / 60) if limit else None,
        allowance=accommodations.allowance_describe(allowance),
        extension_minutes=quiz.timer_extension_minutes,
    )


@dataclass(frozen=True)
class AttemptTiming:
    zone: PersonZone
    deadline: datetime | None
    due_at: datetime | None
    closes_at: datetime | None
    extension_minutes: int
    extensions_left: int


@register.simple_tag
def attempt_timing(attempt: Attempt, launch: LtiLaunch) -> AttemptTiming:
    return AttemptTiming(
        zone=launch_zone(launch),
        deadline=attempt.deadline,
        due_at=attempt.due_at,
        closes_at=attempt.closes_at,
        extension_minutes=attempt.quiz.timer_extension_minutes,
        extensions_left=windows.extensions_left(attempt),
    )


@register.simple_tag
def person_zone(launch: LtiLaunch) -> PersonZone:
    return launch_zone(launch)
