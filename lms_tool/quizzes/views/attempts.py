"""Learners: open a quiz, start or resume an attempt, answer (saved as given), submit, see the result."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lms_tool.lti.decorators import launch_of, page_redirect, scope_of, tool_page, user_of
from lms_tool.lti.models import ResourceLink

from .. import selectors, services
from ..errors import QuizError
from ..models import Attempt, Question


@tool_page
@require_GET
def quiz_open(request: HttpRequest, quiz_id: int) -> HttpResponse:
    """Where a launch of ``activity=quiz:<id>`` lands: staff manage it, learners take it."""
    launch = launch_of(request)
    if launch.is_staff:
        selectors.quiz_for_staff(launch=launch, quiz_id=quiz_id)
        return page_redirect("quizzes:manage", launch, quiz_id)
    return page_redirect("quizzes:take", launch, quiz_id)


@tool_page
@require_http_methods(["GET", "POST"])
def quiz_take(request: HttpRequest, quiz_id: int) -> HttpResponse:
    launch = launch_of(request)
    quiz = selectors.quiz_for_learner(launch=launch, quiz_id=quiz_id)
    if request.method == "POST":
        link = None
        if launch.resource_link_pk is not None:
            link = ResourceLink.objects.filter(pk=launch.resource_link_pk, context=scope_of(request).context).first()
        attempt = services.attempt_start(quiz=quiz, user=user_of(request), resource_link=link, preview=launch.is_staff)
        return page_redirect("quizzes:attempt", launch, attempt.pk)
    attempts = list(selectors.attempts_of(quiz=quiz, launch=launch))
    open_attempt = next((a for a in attempts if a.is_open), None)
    left = None if not quiz.max_attempts else max(0, quiz.max_attempts - len(attempts))
    return render(
        request,
        "quizzes/quiz_take.html",
        {
            "launch": launch,
            "quiz": quiz,
            "attempts": attempts,
            "open_attempt": open_attempt,
            "left": left,
            "question_count": quiz.questions.approved().count(),
        },
    )


def _responses(request: HttpRequest, attempt: Attempt) -> dict[int, Any]:
    """Answers posted with the whole form: ``q<id>`` fields (several values for multiple choice)."""
    questions = Question.objects.in_bulk(attempt.question_ids)
    out: dict[int, Any] = {}
    for qid, question in questions.items():
        key = f"q{qid}"
        if question.type == Question.Type.MULTIPLE:
            if key in request.POST or f"{key}_present" in request.POST:
                out[qid] = request.POST.getlist(key)
        elif key in request.POST:
            out[qid] = request.POST.get(key)
    return out


def _close_if_expired(attempt: Attempt) -> Attempt:
    if attempt.is_open and attempt.is_past_deadline():
        return services.attempt_submit(attempt=attempt)
    return attempt


@tool_page
@require_http_methods(["GET", "POST"])
def attempt_page(request: HttpRequest, attempt_id: int) -> HttpResponse:
    launch = launch_of(request)
    attempt = _close_if_expired(selectors.attempt_for_launch(launch=launch, attempt_id=attempt_id))
    if not attempt.is_open:
        return page_redirect("quizzes:result", launch, attempt.pk)
    saved = False
    if request.method == "POST":  # "Save" without scripts: keep every answer on the form
        for question_id, value in _responses(request, attempt).items():
            services.answer_save(attempt=attempt, question_id=question_id, response=value)
        saved = True
    questions = Question.objects.in_bulk(attempt.question_ids)
    answers = {a.question_id: a.response for a in attempt.answers.all()}
    items = [
        {"q": questions[qid], "response": answers.get(qid), "number": n}
        for n, qid in enumerate(attempt.question_ids, start=1)
    ]
    return render(
        request,
        "quizzes/attempt.html",
        {"launch": launch, "attempt": attempt, "quiz": attempt.quiz, "items": items, "saved": saved},
    )


@tool_page
@require_POST
def answer_autosave(request: HttpRequest, attempt_id: int) -> JsonResponse:
    """One answer, sent by the page's script as soon as it is given: ``{"question": id, "response": ...}``."""
    attempt = selectors.attempt_for_launch(launch=launch_of(request), attempt_id=attempt_id)
    try:
        body = json.loads(request.body or b"{}")
        question_id = int(body["question"])
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": 'Send JSON like {"question": 12, "response": [1]}.'}, status=400)
    answer = services.answer_save(attempt=attempt, question_id=question_id, response=body.get("response"))
    return JsonResponse({"saved": True, "question": question_id, "saved_at": answer.saved_at.isoformat()})


@tool_page
@require_POST
def attempt_submit(request: HttpRequest, attempt_id: int) -> HttpResponse:
    launch = launch_of(request)
    attempt = selectors.attempt_for_launch(launch=launch, attempt_id=attempt_id)
    try:
        services.attempt_submit(attempt=attempt, responses=_responses(request, attempt))
    except QuizError:
        # Late answers are refused, but the attempt is still submitted with what was saved in time.
        services.attempt_submit(attempt=attempt)
    return page_redirect("quizzes:result", launch, attempt.pk)


@tool_page
@require_GET
def attempt_result(request: HttpRequest, attempt_id: int) -> HttpResponse:
    launch = launch_of(request)
    attempt = _close_if_expired(selectors.attempt_for_launch(launch=launch, attempt_id=attempt_id))
    if attempt.is_open:
        return page_redirect("quizzes:attempt", launch, attempt.pk)
    answers = {a.question_id: a for a in attempt.answers.select_related("question")}
    items = [answers[qid] for qid in attempt.question_ids if qid in answers]
    return render(
        request, "quizzes/result.html", {"launch": launch, "attempt": attempt, "quiz": attempt.quiz, "items": items}
    )
