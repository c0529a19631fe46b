"""AI under the institution's control, per registration (docs/ai-control.md).

The registration holds the decision (AI provider on or off, a monthly token budget) and this module answers
the one question the AI layer asks before each model request: may the model be used for this registration,
and if not, why (in words an instructor can act on). ``lms_tool.ai.policy`` reads it through a structural
protocol, so neither app imports the other (docs/architecture.md, "Layers").
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from lms_tool.core.services import audit_record

from .models import BUDGET_TOO_SMALL, Registration, RegistrationAiUsage

logger = logging.getLogger(__name__)

AI_OFF_NOTICE = (
    "Your institution has turned the AI model off for this platform: the offline generator and grader are "
    "used instead, and no course text or answer leaves the tool."
)


class AiSettingsInvalid(ValueError):
    """An admin's AI setting that cannot be saved; the message says what to do instead."""


def month_start(now: dt.datetime | None = None) -> dt.date:
    """The budget month: calendar months in UTC, the same for every school whatever its time zone."""
    return (now or timezone.now()).astimezone(dt.UTC).date().replace(day=1)


def month_next(now: dt.datetime | None = None) -> dt.date:
    first = month_start(now)
    return (first + dt.timedelta(days=32)).replace(day=1)


def budget_clean(value: Any) -> int | None:
    """A budget from an admin: blank or ``none`` for no limit, else a whole number of at least 1 token."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
        return None
    try:
        number = int(str(value).strip().replace("_", ""))
    except ValueError:
        raise AiSettingsInvalid(
            _("%(value)s is not a number of tokens: give a whole number such as 500000, or 'none' for no limit.")
            % {"value": repr(value)}
        ) from None
    if number < 1:
        raise AiSettingsInvalid(BUDGET_TOO_SMALL)
    return number


def usage_tokens(registration_id: int, *, month: dt.date | None = None) -> int:
    row = (
        RegistrationAiUsage.objects.filter(registration_id=registration_id, month=month or month_start())
        .values_list("tokens", flat=True)
        .first()
    )
    return int(row or 0)


def usage_add(registration_id: int, tokens: int) -> None:
    """Add one request's tokens to this month's count: an atomic increment, so parallel workers never lose one."""
    month = month_start()
    tokens = max(0, int(tokens))
    updated = RegistrationAiUsage.objects.filter(registration_id=registration_id, month=month).update(
        tokens=F("tokens") + tokens, requests=F("requests") + 1
    )
    if updated:
        return
    try:
        with transaction.atomic():
            RegistrationAiUsage.objects.create(registration_id=registration_id, month=month, tokens=tokens, requests=1)
    except IntegrityError:  # another worker created this month's row first
        RegistrationAiUsage.objects.filter(registration_id=registration_id, month=month).update(
            tokens=F("tokens") + tokens, requests=F("requests") + 1
        )


@dataclass(frozen=True)
class RegistrationAiControl:
    """What ``lms_tool.ai.policy.Control`` needs: the decision and where to count tokens."""

    registration_id: int
    ai_enabled: bool
    monthly_token_budget: int | None

    def model_refusal(self) -> str:
        """Empty when the model may be used now; else why not, addressed to the instructor."""
        if not self.ai_enabled:
            return AI_OFF_NOTICE
        if self.monthly_token_budget is not None:
            used = usage_tokens(self.registration_id)
            if used >= self.monthly_token_budget:
                return budget_notice(self.monthly_token_budget)
        return ""

    def tokens_record(self, tokens: int) -> None:
        usage_add(self.registration_id, tokens)


def budget_notice(budget: int) -> str:
    resets = month_next()
    return (
        f"Your institution's monthly AI budget ({budget:,} tokens) is used up until {resets:%d %B %Y} (UTC): "
        "the offline generator and grader are used instead. Ask your tool administrator to raise the budget "
        "if you need the model before then."
    )


def ai_control_of(registration_id: int) -> RegistrationAiControl:
    """The registration's AI decision as it is now (read for each generation run or grading pass)."""
    row = (
        Registration.objects.filter(pk=registration_id).values("ai_enabled", "ai_monthly_token_budget").first()
        or {"ai_enabled": False, "ai_monthly_token_budget": None}  # a deleted registration sends nothing out
    )
    return RegistrationAiControl(registration_id, bool(row["ai_enabled"]), row["ai_monthly_token_budget"])


def ai_notice(registration_id: int) -> str:
    """What an instructor should know before asking for generation: why the model will not be used, if so.

    Blank when no model is configured on this server at all: the offline provider is then the normal case."""
    if not model_configured():
        return ""
    return ai_control_of(registration_id).model_refusal()


@transaction.atomic
def ai_settings_update(
    *, registration: Registration, ai_enabled: bool, budget: Any, actor: str, source: str = "admin"
) -> Registration:
    """Change a registration's AI decision (admin page or ``manage.py ai_control``), audited as a data decision."""
    clean_budget = budget_clean(budget)
    locked = Registration.objects.select_for_update().get(pk=registration.pk)
    before = {"ai_enabled": locked.ai_enabled, "ai_monthly_token_budget": locked.ai_monthly_token_budget}
    locked.ai_enabled, locked.ai_monthly_token_budget = bool(ai_enabled), clean_budget
    locked.save(update_fields=["ai_enabled", "ai_monthly_token_budget", "updated_at"])
    settings_audit(registration=locked, actor=actor, source=source, before=before)
    return locked


def settings_audit(*, registration: Registration, actor: str, source: str, before: dict[str, Any]) -> None:
    after = {"ai_enabled": registration.ai_enabled, "ai_monthly_token_budget": registration.ai_monthly_token_budget}
    if after != before:
        audit_record(
            actor_type="admin",
            actor_id=actor,
            action="lti.registration.ai_settings",
            object_type="registration",
            object_id=registration.pk,
            source=source,
            before=before,
            after=after,
        )


def model_configured() -> bool:
    config = getattr(settings, "AI", {})
    return bool(config.get("BASE_URL") and config.get("MODEL"))


def data_flow(registration: Registration) -> list[str]:
    """What leaves the tool for this registration, field by field and to which URL, in plain words.

    Kept next to the decision so the admin reads it where they turn the provider on or off; it restates
    what lms_tool/ai/openai_compatible.py, lms_tool/ai/prompts.py and lms_tool/ai/moderation.py send."""
    # In the language of the page that shows it (the admin's; a management command's is English).
    config = getattr(settings, "AI", {})
    if not registration.ai_enabled:
        return [
            _(
                "The AI provider is OFF for this registration: questions, cards and free-text grades come from the "
                "offline provider running inside the tool. Nothing is sent to any model or moderation service."
            )
        ]
    if not model_configured():
        return [
            _(
                "The AI provider is on, but no model is configured on this server (AI_BASE_URL and AI_MODEL are "
                "empty): the offline provider runs inside the tool and nothing is sent anywhere."
            )
        ]
    base = str(config["BASE_URL"]).rstrip("/")
    model = config["MODEL"]
    chat = f"{base}/chat/completions"
    lines = [
        _(
            "Question generation sends to %(url)s (model %(model)s): the course text the instructor pasted or "
            "uploaded for the quiz (in parts of up to %(characters)s characters), the number of questions, their "
            "types and difficulty, and the tool's fixed instructions."
        )
        % {"url": chat, "model": model, "characters": number_format(12000, force_grouping=True)},
        _("Flashcard generation sends to %(url)s: the course text pasted for the deck and the number of cards.")
        % {"url": chat},
        _(
            "AI grading of free-text answers sends to %(url)s: the question, the instructor's reference answer, "
            "the maximum score and the learner's answer text. No name, e-mail, platform user id, course title "
            "or grade history is sent."
        )
        % {"url": chat},
    ]
    if str(config.get("MODERATION", "auto")).lower() != "off":
        lines.append(
            _(
                "Moderation sends to %(url)s (where that server offers it): the generated question texts, options, "
                "answers and explanations, the generated cards' fronts and backs, and the AI's feedback on a grade. "
                "A server without that endpoint is checked by the tool's word list only."
            )
            % {"url": f"{base}/moderations"}
        )
    lines.append(
        _("The API key is sent as a bearer token to the same server. Usage this month: %(usage)s.")
        % {"usage": budget_line(registration)}
    )
    return lines


def budget_line(registration: Registration) -> str:
    used = number_format(usage_tokens(registration.pk), force_grouping=True)
    if registration.ai_monthly_token_budget is None:
        return _("%(used)s tokens (no budget set)") % {"used": used}
    budget = number_format(registration.ai_monthly_token_budget, force_grouping=True)
    return _("%(used)s of %(budget)s tokens") % {"used": used, "budget": budget}
