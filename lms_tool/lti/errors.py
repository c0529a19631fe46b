"""Why a login or launch was refused: a message for the user, a hint for the admin, a status."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

from lms_tool.core.errors import ToolError, english


class LaunchError(ToolError):
    """A login or launch that is refused. ``code`` names the check that failed (logged, tested)."""

    title = _("This tool could not be launched")

    def __init__(
        self,
        code: str,
        user_message: StrOrPromise,
        *,
        admin_hint: StrOrPromise = "",
        detail: str = "",
        status: int = 400,
    ):
        super().__init__(user_message, admin_hint=admin_hint, detail=detail, status=status)
        self.code = code

    def __str__(self) -> str:
        # English whatever the request's language: this is what logs print (docs/translation.md).
        return f"{self.code}: {english(self.user_message)}" + (f" ({self.detail})" if self.detail else "")
