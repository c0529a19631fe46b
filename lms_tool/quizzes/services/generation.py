"""Question generation with a person in the loop: drafts are written by a Celery task, part by part.

Each part of the text is committed on its own, so the page that polls the run shows real progress and
a failure half-way keeps the drafts already written. Every draft records the model and the run's
prompt; whatever the model answered that could not be used is kept on the run with its reason.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from lms_tool.ai import ProviderError, QuestionDraft, get_provider
from lms_tool.ai.policy import ControlledProvider, provider_for
from lms_tool.ai.quality import held_back_sentence
from lms_tool.ai.types import DIFFICULTIES, QUESTION_TYPES
from lms_tool.core.leases import lease_claim, lease_release, lease_renew
from lms_tool.core.queue import task_send
from lms_tool.lti.ai_control import ai_control_of

from ..errors import QuizError
from ..models import GenerationRun, Question, Quiz
from .questions import question_retire

logger = logging.getLogger(__name__)


def split_text(text: str, max_chars: int) -> list[str]:
    """Parts of at most ``max_chars``, cut between paragraphs (or sentences, for a very long paragraph)."""
    parts: list[str] = []
    current = ""
    for paragraph in text.split("\n\n"):
        pieces = [paragraph] if len(paragraph) <= max_chars else paragraph.replace(". ", ".\n").split("\n")
        for piece in pieces:
            if current and len(current) + len(piece) + 2 > max_chars:
                parts.append(current)
                current = ""
            current = f"{current}\n\n{piece}" if current else piece
    if current.strip():
        parts.append(current)
    return parts or [text]


def shares(count: int, parts: list[str]) -> list[int]:
    """How many questions to ask of each part: by length, at least one each while any are left."""
    total = sum(len(p) for p in parts) or 1
    wanted = [max(1, round(count * len(p) / total)) for p in parts]
    while sum(wanted) > count:
        wanted[wanted.index(max(wanted))] -= 1
    while sum(wanted) < count:
        wanted[wanted.index(min(wanted))] += 1
    return wanted


def generation_check(*, count: int, types: list[str], difficulty: str) -> None:
    limit = settings.QUIZZES["MAX_QUESTIONS"]
    if not 1 <= count <= limit:
        raise QuizError(
            _("Ask for between 1 and %(limit)d questions (you asked for %(count)d).") % {"limit": limit, "count": count}
        )
    unknown = [t for t in types if t not in QUESTION_TYPES]
    if not types or unknown:
        raise QuizError(
            _("Choose at least one question type (unknown: %(types)s).") % {"types": ", ".join(unknown)}
            if unknown
            else _("Choose at least one question type.")
        )
    if difficulty not in DIFFICULTIES:
        raise QuizError(_("Difficulty must be one of: %(choices)s.") % {"choices": ", ".join(DIFFICULTIES)})


@transaction.atomic
def generation_start(
    *, quiz: Quiz, count: int, types: list[str], difficulty: str = "medium", replaces: Question | None = None
) -> GenerationRun:
    """Queue a generation run; the Celery task starts once this transaction commits."""
    generation_check(count=count, types=types, difficulty=difficulty)
    run = GenerationRun.objects.create(quiz=quiz, count=count, types=types, difficulty=difficulty, replaces=replaces)
    transaction.on_commit(lambda: task_send("lms_tool.quizzes.tasks.generation_run_task", run.pk))
    return run


def generation_execute(*, run_id: int) -> GenerationRun | None:
    """Write the drafts of one run (called by the task; safe to call again: a finished run is left alone)."""
    run = GenerationRun.objects.select_related("quiz", "replaces").filter(pk=run_id).first()
    if run is None:  # the quiz was deleted before the task ran
        logger.info("generation run %s no longer exists", run_id)
        return None
    if run.is_finished:
        return run
    lease = _claim(run)
    if lease is None:  # a re-delivered message while another worker writes this run
        return run
    # The registration's AI decision (docs/ai-control.md): off or over budget, the offline provider writes.
    provider = provider_for(ai_control_of(run.quiz.context.registration_id), get_provider())
    if run.replaces is not None:
        return _regenerate(run, provider, lease)
    parts = split_text(run.quiz.source_text, provider.chunk_chars)  # type: ignore[attr-defined]
    GenerationRun.objects.filter(pk=run.pk).update(state=GenerationRun.State.RUNNING, parts_total=len(parts))
    for index, (part, wanted) in enumerate(zip(parts, shares(run.count, parts), strict=True)):
        if index < run.parts_done:  # committed by a worker whose lease expired: not written twice
            continue
        if not _renew(run, lease):
            return run
        if wanted <= 0:
            _part_done(run, [], [], "", "")
            continue
        try:
            result = provider.generate_questions(text=part, count=wanted, types=run.types, difficulty=run.difficulty)
        except ProviderError as exc:
            return _fail(run, str(exc), lease)
        rejected = [_rejected(r) for r in result.rejected]
        _part_done(run, result.items, rejected, result.model, result.prompt, provider=provider)
    return _finish(run, lease)


def _lease_name(run: GenerationRun) -> str:
    return f"quizzes.generation:{run.pk}"


def _claim(run: GenerationRun) -> str | None:
    """Hold the run's lease (lms_tool/core/leases.py), then move it to running with a conditional UPDATE that
    only an unfinished run passes; None when another worker holds it or it finished meanwhile."""
    lease = lease_claim(_lease_name(run), seconds=settings.GENERATION_LEASE_SECONDS)
    if lease is None:
        logger.info("generation run %s is held by another worker; this delivery does nothing", run.pk)
        return None
    unfinished = [GenerationRun.State.QUEUED, GenerationRun.State.RUNNING]
    if not GenerationRun.objects.filter(pk=run.pk, state__in=unfinished).update(state=GenerationRun.State.RUNNING):
        lease_release(_lease_name(run), lease)
        return None
    return lease


def _renew(run: GenerationRun, lease: str) -> bool:
    if lease_renew(_lease_name(run), lease, seconds=settings.GENERATION_LEASE_SECONDS):
        return True
    logger.warning("generation run %s: its lease passed to another worker; this one stops", run.pk)
    return False


def _regenerate(run: GenerationRun, provider: Any, lease: str) -> GenerationRun:
    """One new draft in place of ``run.replaces``: the first the provider writes that the quiz does not have."""
    old = run.replaces
    assert old is not None
    if run.parts_done:  # written (and the old question retired) by a worker whose lease expired
        return _finish(run, lease)
    GenerationRun.objects.filter(pk=run.pk).update(state=GenerationRun.State.RUNNING, parts_total=1)
    existing = set(run.quiz.questions.current().values_list("prompt", flat=True))
    limit = settings.QUIZZES["MAX_QUESTIONS"]
    try:
        result = provider.generate_questions(
            text=run.quiz.source_text, count=min(len(existing) + 3, limit), types=[old.type], difficulty=run.difficulty
        )
    except ProviderError as exc:
        return _fail(run, str(exc), lease)
    fresh = [d for d in result.items if d.prompt not in existing][:1]
    rejected = [_rejected(r) for r in result.rejected]
    if not fresh:
        rejected.append({"reason": "the provider wrote no question the quiz does not already have", "raw": None})
    with transaction.atomic():
        created = _part_done(
            run, fresh, rejected, result.model, result.prompt, position=old.position, provider=provider
        )
        if created:
            question_retire(question=old)
    return _finish(run, lease)


def _part_done(
    run: GenerationRun,
    drafts: list[QuestionDraft],
    rejected: list[dict[str, Any]],
    model: str,
    prompt: str,
    *,
    position: int | None = None,
    provider: ControlledProvider | None = None,
) -> list[Question]:
    provenance = {}
    if provider is not None:
        provenance = {"ai_provider": provider.provenance.provider, "prompt_version": provider.provenance.prompt_version}
    with transaction.atomic():
        locked = GenerationRun.objects.select_for_update().get(pk=run.pk)
        start = position if position is not None else _next_position(run.quiz)
        questions = Question.objects.bulk_create(
            [_question(run, draft, start + i, model, **provenance) for i, draft in enumerate(drafts)]
        )
        locked.parts_done += 1
        locked.created_count += len(questions)
        locked.rejected = [*locked.rejected, *rejected]
        locked.model = model or locked.model
        locked.prompt = locked.prompt or prompt
        locked.ai_notice = (provider.notice if provider is not None else "") or locked.ai_notice
        locked.save(update_fields=["parts_done", "created_count", "rejected", "model", "prompt", "ai_notice"])
    return questions


def _next_position(quiz: Quiz) -> int:
    return (quiz.questions.aggregate(m=Max("position"))["m"] or 0) + 1


def _question(run: GenerationRun, draft: QuestionDraft, position: int, model: str, **provenance: str) -> Question:
    return Question.from_draft(
        draft,
        quiz=run.quiz,
        position=position,
        difficulty=draft.difficulty,
        generation_run=run,
        model=model,
        **provenance,
    )


def _fail(run: GenerationRun, error: str, lease: str) -> GenerationRun:
    logger.warning("generation run %s failed: %s", run.pk, error)
    GenerationRun.objects.filter(pk=run.pk).update(
        state=GenerationRun.State.FAILED, error=error, finished_at=timezone.now()
    )
    lease_release(_lease_name(run), lease)
    run.refresh_from_db()
    return run


def _finish(run: GenerationRun, lease: str) -> GenerationRun:
    GenerationRun.objects.filter(pk=run.pk).update(state=GenerationRun.State.DONE, finished_at=timezone.now())
    lease_release(_lease_name(run), lease)
    run.refresh_from_db()
    return run


_QUOTED = re.compile(r"'([a-z_]+)'")


def _plain(reason: str) -> str:
    """A provider's reason in the instructor's words: ``'free_text'`` becomes "free text (AI graded)"."""
    labels = dict(Question.Type.choices)
    return _QUOTED.sub(lambda m: labels[m.group(1)].lower() if m.group(1) in labels else m.group(0), reason)


def run_explained(run: GenerationRun | None) -> dict[str, Any]:
    """What the manage page says about a run: each asked-for type not written and why, reasons in plain words."""
    held_back = held_back_sentence(run.rejected if run else [], "question")
    if run is None or not run.is_finished or run.replaces_id is not None:
        reasons = [_plain(str(r.get("reason", ""))) for r in (run.rejected if run else [])]
        return {"missing": [], "reasons": reasons, "held_back": held_back}
    labels = dict(Question.Type.choices)
    written = set(Question.objects.filter(generation_run=run).values_list("type", flat=True))
    reasons = [_plain(str(r.get("reason", ""))) for r in run.rejected]
    missing = []
    for kind in run.types:
        if kind in written:
            continue
        label = labels.get(kind, kind)
        why = next((r for r in reasons if label.lower() in r), "")
        if not why and run.count < len(set(run.types)):
            why = ngettext(
                "%(count)d question was asked for %(types)d types",
                "%(count)d questions were asked for %(types)d types",
                run.count,
            ) % {"count": run.count, "types": len(set(run.types))}
        missing.append({"type": kind, "label": label, "why": why or _("no usable question of this type was written")})
    return {"missing": missing, "reasons": reasons, "held_back": held_back}


def _rejected(rejected: Any) -> dict[str, Any]:
    # "check" names the quality check that held a draft back (lms_tool/ai/quality.py), for the summary.
    check = getattr(rejected, "check", "")
    return {"reason": rejected.reason, "raw": _jsonable(rejected.raw), **({"check": check} if check else {})}


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool | list | dict):
        return value
    return repr(value)[:2000]
