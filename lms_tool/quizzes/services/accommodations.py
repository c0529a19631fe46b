"""Per-learner allowances in a course: extra time (a factor, minutes, or both) and extra attempts.

Set by the course's staff (the "Accommodations" page); they apply to every quiz of the course with a time
limit or an attempt limit, and the learner sees their own allowance on the quiz page (docs/assessment.md,
"Accommodations"). A factor multiplies the quiz's time limit; minutes are added after it. The dates of a
quiz do not move: extra time never reaches past its close (or its due date when late work is refused).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.formats import number_format
from django.utils.translation import gettext, gettext_noop, ngettext

from lms_tool.core import lean
from lms_tool.core.services import audit_record
from lms_tool.lti import roles
from lms_tool.lti.models import Context, LtiUser, Membership
from lms_tool.lti.selectors import launch_scope
from lms_tool.lti.types import LtiLaunch

from ..errors import QuizError
from ..models import Accommodation, Quiz

MAX_FACTOR = 5.0
MAX_EXTRA_MINUTES = 24 * 60
MAX_EXTRA_ATTEMPTS = 50
NO_LEARNER = gettext_noop("There is no such learner in this course.")  # translated when raised


def accommodation_of(*, context_id: int, user_id: int) -> Accommodation | None:
    return lean.first(Accommodation, {"context": context_id, "user": user_id})  # read at every start: lean


class _Unread:
    """The allowance was not read yet (``None`` means read, and there is none)."""


UNREAD: Any = _Unread()


def time_limit_for(*, quiz: Quiz, user_id: int, allowance: Accommodation | None = UNREAD) -> timedelta | None:
    """The learner's time limit at ``quiz``: the quiz's, times their factor, plus their minutes."""
    if not quiz.time_limit_minutes:
        return None
    if allowance is UNREAD:
        allowance = accommodation_of(context_id=quiz.context_id, user_id=user_id)
    minutes = float(quiz.time_limit_minutes)
    if allowance is not None:
        minutes = minutes * (allowance.time_factor or 1.0) + allowance.extra_minutes
    return timedelta(minutes=math.ceil(minutes * 60) / 60)


def attempts_allowed(*, quiz: Quiz, user_id: int, allowance: Accommodation | None = UNREAD) -> int:
    """How many attempts the learner has at ``quiz`` (0: no limit)."""
    if not quiz.max_attempts:
        return 0
    if allowance is UNREAD:
        allowance = accommodation_of(context_id=quiz.context_id, user_id=user_id)
    return quiz.max_attempts + (allowance.extra_attempts if allowance is not None else 0)


def allowance_describe(allowance: Accommodation | None) -> str:
    """The allowance in words: "1.5 x the time limit, plus 10 minutes; 1 extra attempt"."""
    if allowance is None or allowance.is_empty:
        return ""
    parts: list[str] = []
    time: list[str] = []
    if allowance.time_factor and allowance.time_factor != 1:
        time.append(
            gettext("%(factor)s × the time limit")  # noqa: RUF001 (the multiplication sign is meant)
            % {"factor": number_format(Decimal(f"{allowance.time_factor:g}"))}
        )
    if allowance.extra_minutes:
        minutes = allowance.extra_minutes
        time.append(ngettext("%(n)s extra minute", "%(n)s extra minutes", minutes) % {"n": minutes})
    if time:
        parts.append(gettext(", plus ").join(time))
    if allowance.extra_attempts:
        n = allowance.extra_attempts
        parts.append(ngettext("%(n)s extra attempt", "%(n)s extra attempts", n) % {"n": n})
    return "; ".join(parts)


@dataclass(frozen=True)
class LearnerRow:
    user: LtiUser
    allowance: Accommodation | None

    @property
    def described(self) -> str:
        return allowance_describe(self.allowance)


def _course(launch: LtiLaunch) -> int:
    context_pk = launch_scope(launch=launch).context_pk
    if context_pk is None:
        raise QuizError(gettext("Accommodations are set inside a course; open the tool from one."), status=400)
    return context_pk


def learners_of(*, launch: LtiLaunch) -> list[LearnerRow]:
    """The course's active learners with their allowance, by name (names are encrypted: sorted here)."""
    context_pk = _course(launch)
    members = Membership.objects.filter(
        context_id=context_pk, context__registration_id=launch.registration_id, is_active=True
    ).select_related("user")
    allowances = {a.user_id: a for a in Accommodation.objects.filter(context_id=context_pk)}
    rows = [LearnerRow(m.user, allowances.get(m.user_id)) for m in members if roles.is_learner(m.roles)]
    return sorted(rows, key=lambda row: ((row.user.name or row.user.sub).casefold(), row.user.pk))


def learner_in_course(*, launch: LtiLaunch, user_id: object) -> LtiUser:
    """A learner of the launch's course by id; 404 in the same words for anyone else."""
    context_pk = _course(launch)
    try:
        pk = int(str(user_id))
    except ValueError:
        raise QuizError(gettext(NO_LEARNER), status=404) from None
    membership = (
        Membership.objects.filter(
            context_id=context_pk,
            context__registration_id=launch.registration_id,
            user_id=pk,
            user__registration_id=launch.registration_id,
        )
        .select_related("user")
        .first()
    )
    if membership is None or not roles.is_learner(membership.roles):
        raise QuizError(gettext(NO_LEARNER), status=404)
    return membership.user


def allowance_check(*, time_factor: float | None, extra_minutes: int | None, extra_attempts: int | None) -> None:
    if time_factor is not None and time_factor < 0:
        raise QuizError(
            gettext("The time factor cannot be negative. Use 1.5 for half as much time again, or leave it empty.")
        )
    if time_factor is not None and not 1 <= time_factor <= MAX_FACTOR:
        raise QuizError(
            gettext("The time factor is between 1 and %(most)s (1.5 gives half as much time again).")
            % {"most": f"{MAX_FACTOR:g}"}
        )
    if extra_minutes is not None and extra_minutes < 0:
        raise QuizError(gettext("Extra minutes cannot be negative. Leave the field empty or write 0 for none."))
    if extra_minutes is not None and extra_minutes > MAX_EXTRA_MINUTES:
        raise QuizError(gettext("Extra time is at most %(most)d minutes.") % {"most": MAX_EXTRA_MINUTES})
    if extra_attempts is not None and extra_attempts < 0:
        raise QuizError(gettext("Extra attempts cannot be negative. Leave the field empty or write 0 for none."))
    if extra_attempts is not None and extra_attempts > MAX_EXTRA_ATTEMPTS:
        raise QuizError(gettext("Extra attempts are at most %(most)d.") % {"most": MAX_EXTRA_ATTEMPTS})


@transaction.atomic
def accommodation_set(
    *,
    context: Context,
    learner: LtiUser,
    actor: LtiUser,
    time_factor: float | None,
    extra_minutes: int | None,
    extra_attempts: int | None,
) -> Accommodation | None:
    """Set (or clear, when nothing is left) one learner's allowance; a wrong value changes nothing."""
    allowance_check(time_factor=time_factor, extra_minutes=extra_minutes, extra_attempts=extra_attempts)
    current = Accommodation.objects.select_for_update().filter(context=context, user=learner).first()
    before = _plain(current)
    factor = time_factor if time_factor and time_factor != 1 else None
    if not factor and not extra_minutes and not extra_attempts:
        if current is not None:
            current.delete()
        result = None
    else:
        result, _ = Accommodation.objects.update_or_create(
            context=context,
            user=learner,
            defaults={
                "time_factor": factor,
                "extra_minutes": extra_minutes or 0,
                "extra_attempts": extra_attempts or 0,
                "updated_by": actor,
            },
        )
    audit_record(
        actor_type="user",
        actor_id=str(actor.pk),
        action="quiz.accommodation",
        object_type="lti_user",
        object_id=learner.pk,
        before=before,
        after=_plain(result),
    )
    return result


def _plain(allowance: Accommodation | None) -> dict[str, object] | None:
    if allowance is None:
        return None
    return {
        "time_factor": allowance.time_factor,
        "extra_minutes": allowance.extra_minutes,
        "extra_attempts": allowance.extra_attempts,
    }
