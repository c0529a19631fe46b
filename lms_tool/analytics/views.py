"""The instructor's pages of a quiz: results, item analysis, preview as a student, and the regrade action.

Thin: each page reaches the quiz through the launch's registration and course (``quizzes.selectors``; out of
reach answers like missing, 404), staff only (``staff_page``); the figures come from ``results``/``items``.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from lms_tool.lti.decorators import launch_of, page_redirect, page_url, staff_page, user_of
from lms_tool.quizzes import selectors as quiz_selectors
from lms_tool.quizzes import services as quiz_services
from lms_tool.quizzes.errors import QuizError
from lms_tool.quizzes.models import Question, Quiz

from . import items as item_analysis
from .results import CHART_HEIGHT, CHART_WIDTH, Filters, State, names_fill, quiz_results, score_distribution
from .results import results_csv as csv_of

logger = logging.getLogger(__name__)
PAGE_SIZE = 50


def _quiz(request: HttpRequest, quiz_id: int) -> Quiz:
    return quiz_selectors.quiz_for_staff(launch=launch_of(request), quiz_id=quiz_id)


_PERCENT_REFUSED = {
    "lowest": gettext_lazy("The lowest score must be a percentage between 0 and 100, like 50."),
    "highest": gettext_lazy("The highest score must be a percentage between 0 and 100, like 50."),
}


def _percent(value: str, what: str) -> float | None:
    value = value.strip().rstrip("%")
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise QuizError(_PERCENT_REFUSED[what]) from None
    if not 0 <= number <= 100:
        raise QuizError(_PERCENT_REFUSED[what])
    return number


def _query(request: HttpRequest) -> dict[str, str]:
    """The filters as given, to carry into the CSV link and the page links."""
    return {k: str(request.GET.get(k, "")) for k in ("state", "low", "high", "name") if request.GET.get(k)}


def _filters(request: HttpRequest) -> Filters:
    state = request.GET.get("state", "")
    if state and state not in State.LABELS:
        raise QuizError(gettext_lazy("Choose a state from the list."))
    return Filters(
        state=state,
        low=_percent(request.GET.get("low", ""), "lowest"),
        high=_percent(request.GET.get("high", ""), "highest"),
        name=request.GET.get("name", "").strip()[:200],
    )


@staff_page
@require_GET
def results(request: HttpRequest, quiz_id: int) -> HttpResponse:
    launch = launch_of(request)
    quiz = _quiz(request, quiz_id)
    filters = _filters(request)
    # Names only where needed (they are decrypted one by one): all of them to search by name, else the page's.
    rows = quiz_results(quiz=quiz, with_names=bool(filters.name))
    shown = [row for row in rows if filters.keep(row)]
    page = Paginator(shown, PAGE_SIZE).get_page(request.GET.get("page"))
    if not filters.name:
        names_fill(list(page.object_list))
    query = _query(request)
    return render(
        request,
        "analytics/results.html",
        {
            "launch": launch,
            "quiz": quiz,
            "rows": page,
            "total": len(rows),
            "shown": len(shown),
            "bins": score_distribution(shown),
            "chart_width": CHART_WIDTH,
            "chart_height": CHART_HEIGHT,
            "states": State.LABELS.items(),
            "filters": filters,
            "query": urlencode({"launch": launch.launch_id, **query}),
            # By hand: the filter "name" would clash with page_url's own first parameter.
            "csv_url": reverse("analytics:results_csv", args=[quiz.pk])
            + "?"
            + urlencode({"launch": launch.launch_id, **query}),
            "items_url": page_url("analytics:items", launch, quiz.pk),
            "preview_url": page_url("analytics:preview", launch, quiz.pk),
        },
    )


@staff_page
@require_GET
def results_csv(request: HttpRequest, quiz_id: int) -> HttpResponse:
    quiz = _quiz(request, quiz_id)
    filters = _filters(request)
    body = csv_of([row for row in quiz_results(quiz=quiz) if filters.keep(row)])
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="quiz-{quiz.pk}-results.csv"'
    response["Cache-Control"] = "no-store"
    return response


@staff_page
@require_GET
def items(request: HttpRequest, quiz_id: int) -> HttpResponse:
    launch = launch_of(request)
    quiz = _quiz(request, quiz_id)
    analysis = item_analysis.quiz_item_analysis(quiz=quiz)
    return render(
        request,
        "analytics/items.html",
        {
            "launch": launch,
            "quiz": quiz,
            "analysis": analysis,
            "results_url": page_url("analytics:results", launch, quiz.pk),
            "min_attempts": item_analysis.MIN_ATTEMPTS,
            "regraded": request.GET.get("regraded", ""),
        },
    )


@staff_page
@require_GET
def preview(request: HttpRequest, quiz_id: int) -> HttpResponse:
    """The quiz as a learner sees it: its approved questions, nothing to submit, no attempt, no score."""
    launch = launch_of(request)
    quiz = _quiz(request, quiz_id)
    return render(
        request,
        "analytics/preview.html",
        {"launch": launch, "quiz": quiz, "questions": list(quiz.questions.approved())},
    )


@staff_page
@require_POST
def regrade(request: HttpRequest, quiz_id: int, question_id: int) -> HttpResponse:
    launch = launch_of(request)
    quiz = _quiz(request, quiz_id)
    question = Question.objects.filter(quiz=quiz, pk=question_id, is_current=False).first()
    if question is None:
        raise QuizError(gettext_lazy("There is no replaced question with that number in this quiz."), status=404)
    result = quiz_services.question_regrade(question=question, user=user_of(request))
    logger.info("regrade of question %s: %s", question.pk, result)
    return page_redirect(
        "analytics:items",
        launch,
        quiz.pk,
        regraded=f"{result.attempts_changed} attempt(s) changed, {result.scores_reposted} score(s) sent to the gradebook again",
    )
