"""Learners: open a quiz, start or resume an attempt, answer (saved as given), submit, see the result.

The attempt page's script keeps every answer in the browser until the server has acknowledged it, so an
expired launch or a dropped connection loses nothing (templates/quizzes/attempt.html): the script's
requests get JSON answers with a ``code`` (lms_tool/lti/decorators.py), and a submit it sends gets the
result's address back instead of a redirect.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lms_tool.lti.decorators import launch_of, page_redirect, page_url, tool_page, user_of, wants_json

from .. import selectors, services
from ..services import attempts as attempt_services
from ..services import delivery


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
@never_cache
@require_http_methods(["GET", "POST"])
def quiz_take(request: HttpRequest, quiz_id: int) -> HttpResponse:
    launch = launch_of(request)
    quiz = selectors.quiz_for_learner(launch=launch, quiz_id=quiz_id)
    if request.method == "POST":
        attempt = attempt_services.attempt_open(quiz=quiz, launch=launch, user=user_of(request, whole=False))
        return page_redirect("quizzes:attempt", launch, attempt.pk)
    state = selectors.quiz_take_state(quiz=quiz, launch=launch)
    return render(request, "quizzes/quiz_take.html", {"launch": launch, "quiz": quiz, "state": state})


@tool_page
@never_cache  # Back after a submit must ask the server again, never show a cached, editable attempt
@require_http_methods(["GET", "POST"])
def attempt_page(request: HttpRequest, attempt_id: int) -> HttpResponse:
    launch = launch_of(request)
    attempt = attempt_services.attempt_current(
        attempt=selectors.attempt_for_launch(launch=launch, attempt_id=attempt_id)
    )
    if not attempt.is_open:
        return page_redirect("quizzes:result", launch, attempt.pk)
    seen = selectors.attempt_seen(attempt=attempt)  # this learner's draw and orders, as recorded at the start
    paged = attempt.quiz.one_per_page and len(seen) > 1
    page = delivery.attempt_page_number(request.POST.get("page") or request.GET.get("page"), len(seen)) if paged else 0
    saved = False
    if request.method == "POST":  # "Save" without scripts, or a move to another question page: keep the answers
        attempt_services.answers_save(attempt=attempt, form=request.POST)
        saved = True
        if paged and request.POST.get("goto"):
            goto = delivery.attempt_page_number(request.POST["goto"], len(seen))
            return page_redirect("quizzes:attempt", launch, attempt.pk, page=str(goto))
    answers = {a.question_id: a.response for a in selectors.attempt_answers(attempt=attempt)}
    items = [
        {
            "q": row.question,
            "response": answers.get(row.question_id),
            "number": n,
            "options": delivery.options_shown(row.question, row.option_order),
            "answered": answers.get(row.question_id) not in (None, "", []),
        }
        for n, row in enumerate(seen, start=1)
    ]
    return render(
        request,
        "quizzes/attempt.html",
        {
            "launch": launch,
            "attempt": attempt,
            "quiz": attempt.quiz,
            "items": items[page - 1 : page] if paged else items,
            "saved": saved,
            "pages": items if paged else [],
            "page": page,
            "question_ids": ",".join(str(row.question_id) for row in seen),
        },
    )


@tool_page
@never_cache
@require_POST
def answer_autosave(request: HttpRequest, attempt_id: int) -> JsonResponse:
    """One answer, sent by the page's script as soon as it is given: ``{"question": id, "response": ...}``."""
    launch = launch_of(request)
    try:
        body = json.loads(request.body or b"{}")
        question_id = int(body["question"])
    except (ValueError, KeyError, TypeError, OverflowError):  # OverflowError: int(Infinity)
        selectors.attempt_for_launch(launch=launch, attempt_id=attempt_id)  # someone else's attempt: 404 first
        message = 'Send JSON like {"question": 12, "response": [1]}.'
        return JsonResponse({"code": "bad_request", "message": message, "error": message}, status=400)
    # The attempt and the question in one statement (the page sends one of these every few seconds).
    attempt, question = selectors.attempt_with_question_for_launch(
        launch=launch, attempt_id=attempt_id, question_id=question_id
    )
    answer = services.answer_save(
        attempt=attempt, question_id=question_id, response=body.get("response"), question=question
    )
    return JsonResponse({"saved": True, "question": question_id, "saved_at": answer.saved_at.isoformat()})


@tool_page
@never_cache
@require_POST
def attempt_submit(request: HttpRequest, attempt_id: int) -> HttpResponse:
    launch = launch_of(request)
    attempt = selectors.attempt_for_launch(launch=launch, attempt_id=attempt_id)
    services.attempt_submit(attempt=attempt, form=request.POST)
    query = {"timeup": "1"} if request.POST.get("timeup") else {}
    if wants_json(request):
        return JsonResponse({"submitted": True, "result_url": page_url("quizzes:result", launch, attempt.pk, **query)})
    return page_redirect("quizzes:result", launch, attempt.pk, **query)


@tool_page
@never_cache
@require_GET
def attempt_result(request: HttpRequest, attempt_id: int) -> HttpResponse:
    launch = launch_of(request)
    attempt = attempt_services.attempt_current(
        attempt=selectors.attempt_for_launch(launch=launch, attempt_id=attempt_id)
    )
    if attempt.is_open:
        return page_redirect("quizzes:attempt", launch, attempt.pk)
    quiz = attempt.quiz
    # What a learner may see of a submitted attempt is decided here, on the server (services/delivery.py):
    # with review off, the score only; answers and explanations only once released. Staff see everything.
    review = launch.is_staff or quiz.allow_review
    released = review and (launch.is_staff or delivery.quiz_answers_released(quiz, attempt, timezone.now()))
    items = []
    if review:
        answers = {a.question_id: a for a in attempt.answers.select_related("question")}
        items = [
            {"a": answers[row.question_id], "options": delivery.options_shown(row.question, row.option_order)}
            for row in selectors.attempt_seen(attempt=attempt)
            if row.question_id in answers
        ]
    time_up = bool(request.GET.get("timeup")) or attempt.is_past_deadline(attempt.submitted_at)
    return render(
        request,
        "quizzes/result.html",
        {
            "launch": launch,
            "attempt": attempt,
            "quiz": quiz,
            "items": items,
            "time_up": time_up,
            "review": review,
            "released": released,
            "release": None if released else delivery.answers_release_note(quiz, attempt),
        },
    )
