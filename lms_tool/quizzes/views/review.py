"""Instructors: the review queue of flagged AI grades in their course."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from lms_tool.core.errors import lazy_format
from lms_tool.lti.decorators import launch_of, page_redirect, staff_page, user_of

from .. import selectors, services
from ..errors import QuizError


@staff_page
@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    launch = launch_of(request)
    answers = list(selectors.review_queue(launch=launch)[:200])
    return render(
        request, "quizzes/review_queue.html", {"launch": launch, "answers": answers, "done": request.GET.get("done")}
    )


@staff_page
@require_POST
def review_decide(request: HttpRequest, answer_id: int) -> HttpResponse:
    launch = launch_of(request)
    answer = selectors.review_answer(launch=launch, answer_id=answer_id)
    try:
        score = float(request.POST.get("score", "").replace(",", "."))
    except ValueError:
        raise QuizError(
            lazy_format(
                gettext_lazy("The score must be a number between 0 and %(most)s."),
                most=number_format(f"{answer.max_score:g}", use_l10n=True),
            )
        ) from None
    services.answer_review_decide(
        answer=answer,
        reviewer=user_of(request),
        score=score,
        feedback=request.POST.get("feedback", ""),
    )
    return page_redirect("quizzes:review", launch, done=str(answer.pk))
