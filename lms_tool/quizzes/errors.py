from __future__ import annotations

from lms_tool.core.errors import ToolError


class QuizError(ToolError):
    """A request about a quiz that cannot be done as asked; the message says what to change."""

    title = "That could not be done"
