from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from lms_tool.core.errors import ToolError


class QuizError(ToolError):
    """A request about a quiz that cannot be done as asked; the message says what to change."""

    title = _("That could not be done")
