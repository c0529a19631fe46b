"""Why a login or launch was refused: a message for the user, a hint for the admin, a status."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from lms_tool.core.errors import CodedError


class LaunchError(CodedError):
    """A login or launch that is refused. ``code`` names the check that failed (logged, tested)."""

    title = _("This tool could not be launched")
