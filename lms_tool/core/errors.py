"""Errors that carry a message a user or admin can act on, and the HTTP status to answer with."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils import translation
from django.utils.functional import Promise, lazy
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def english(text: object) -> str:
    """``text`` (a lazy message or plain text) in English, whatever language the request speaks.

    For log lines: the log stays English so that operators can search it (docs/translation.md)."""
    with translation.override("en"):
        return str(text)


def _interpolated(message: StrOrPromise, values: dict[str, Any]) -> str:
    return str(message) % values


_lazy_interpolated = lazy(_interpolated, str)


def lazy_format(message: StrOrPromise, **values: Any) -> StrOrPromise:
    """``message % values``, translated when shown rather than now: ``lazy_format(gettext_lazy("... %(url)s ..."),
    url=url)``. A lazy message's own ``%`` would translate it at once, in whatever language is active."""
    return _lazy_interpolated(message, values)  # type: ignore[no-any-return]


class ToolError(Exception):
    """An expected failure: shown to the user with ``user_message`` and ``admin_hint``.

    Both may be lazy translations (``gettext_lazy``): the page shows them in the language of the request that
    renders it, which for a refused login or launch is only known then (the browser's Accept-Language)."""

    status = 400
    title: str | Promise = _("The request could not be completed")  # lazy: shown in the language of the request

    def __init__(
        self,
        user_message: StrOrPromise,
        *,
        admin_hint: StrOrPromise = "",
        detail: str = "",
        status: int | None = None,
    ):
        super().__init__(user_message)
        self.user_message: StrOrPromise = user_message
        self.admin_hint: StrOrPromise = admin_hint
        # ``detail`` goes to the log only: it may name internals an end user should not see.
        self.detail = detail
        if status is not None:
            self.status = status

    def __str__(self) -> str:
        # ``user_message`` may be lazy (shown in the request's language); the exception's text, which logs
        # and tracebacks print, stays English.
        return english(self.user_message)


class CodedError(ToolError):
    """A refusal whose ``code`` names the check that failed (logged, tested, and the JSON answer's ``code``)."""

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
