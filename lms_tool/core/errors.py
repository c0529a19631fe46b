"""Errors that carry a message a user or admin can act on, and the HTTP status to answer with."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class ToolError(Exception):
    """An expected failure: shown to the user with ``user_message`` and ``admin_hint``."""

    status = 400
    title: str | Promise = _("The request could not be completed")  # lazy: shown in the language of the request

    def __init__(self, user_message: str, *, admin_hint: str = "", detail: str = "", status: int | None = None):
        super().__init__(user_message)
        self.user_message = user_message
        self.admin_hint = admin_hint
        # ``detail`` goes to the log only: it may name internals an end user should not see.
        self.detail = detail
        if status is not None:
            self.status = status
