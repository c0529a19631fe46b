"""What other apps do around a launch, without the launch importing them (apps depend downward).

Apps register in their ``AppConfig.ready()``:
- ``launch_check(fn)``: ``fn(validated)`` runs after validation and before anything is written; it
  refuses the launch by raising ``LaunchError`` (the roster refuses a member it revoked);
- ``launch_recorded(fn)``: ``fn(lti_launch)`` runs inside the launch's transaction once the context,
  user and link are recorded (grading keeps the AGS endpoint, the roster queues its first sync). It
  runs when the launch records something: not for a repeat launch whose recorded claims (user,
  course, roles, link, custom, AGS, NRPS) are those of a launch already recorded in the last hour.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .launch import ValidatedLaunch
    from .types import LtiLaunch

_checks: list[Callable[[ValidatedLaunch], None]] = []
_recorded: list[Callable[[LtiLaunch], None]] = []


def launch_check(fn: Callable[[ValidatedLaunch], None]) -> Callable[[ValidatedLaunch], None]:
    if fn not in _checks:
        _checks.append(fn)
    return fn


def launch_recorded(fn: Callable[[LtiLaunch], None]) -> Callable[[LtiLaunch], None]:
    if fn not in _recorded:
        _recorded.append(fn)
    return fn


def run_checks(validated: ValidatedLaunch) -> None:
    for check in _checks:
        check(validated)


def run_recorded(lti_launch: LtiLaunch) -> None:
    for follow_up in _recorded:
        follow_up(lti_launch)
