"""Where a resource-link launch's activity pointer lands: the course's own activity, or its copy.

Shared by every activity source (quizzes, decks) so the rule lives once (docs/security.md, "What each
boundary checks", deep-linked activities): an id of the launch's own course opens; a proven pointer to
another course of the same registration opens that course's copy, made at its first launch; anything
else is out of reach.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.db import models

from .models import Context, LtiUser
from .types import LtiLaunch

Activity = TypeVar("Activity", bound=models.Model)


def activity_locate(
    launch: LtiLaunch,
    item_id: str,
    proven: bool,
    *,
    in_course: Callable[[LtiLaunch, int], Activity | None],
    copy_in_course: Callable[[LtiLaunch, int], Activity | None],
    of_registration: Callable[[LtiLaunch, int], Activity | None],
    copy: Callable[[Activity, Context, LtiUser | None], Activity],
) -> str | None:
    """The id of the activity ``item_id`` opens in the launch's course; None when out of reach."""
    if not item_id.isdigit() or launch.context_pk is None:
        return None
    pk = int(item_id)
    found = in_course(launch, pk) or (copy_in_course(launch, pk) if proven else None)
    if found is not None:
        return str(found.pk)
    original = of_registration(launch, pk) if proven else None
    if original is None:
        return None
    actor = LtiUser.objects.filter(pk=launch.user_pk).first()
    return str(copy(original, Context.objects.get(pk=launch.context_pk), actor).pk)
