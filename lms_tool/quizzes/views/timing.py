"""Dates, late policy, accommodations and timer extensions (services/windows.py, services/accommodations.py)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from lms_tool.lti.decorators import launch_of, page_redirect, scope_of, staff_page, tool_page, user_of, wants_json
from lms_tool.lti.timezones import launch_zone, platform_dates

from .. import selectors
from ..errors import QuizError
from ..services import accommodations, windows
from ..timing_forms import AccommodationForm, QuizDatesForm, dates_clean


def _errors(form: QuizDatesForm | AccommodationForm) -> str:
    return "; ".join(
        f"{form.fields[k].label or k}: {' '.join(str(e) for e in v)}" if k != "__all__" else " ".join(map(str, v))
        for k, v in form.errors.items()
    )


@never_cache
@staff_page
@require_http_methods(["GET", "POST"])
def quiz_dates(request: HttpRequest, quiz_id: int) -> HttpResponse:
    """The quiz's dates in the instructor's zone, its late policy and whether learners may extend their timer."""
    launch = launch_of(request)
    quiz = selectors.quiz_for_staff(launch=launch, quiz_id=quiz_id)
    zone = launch_zone(launch)
    form = QuizDatesForm(request.POST or None, initial=QuizDatesForm.initial_for(quiz, zone.zone))
    error = ""
    if request.method == "POST":
        if dates_clean(form, zone.zone):
            data = form.cleaned_data
            try:
                windows.quiz_dates_update(
                    quiz=quiz,
                    user=user_of(request),
                    opens_at=data.get("opens_at"),
                    due_at=data.get("due_at"),
                    closes_at=data.get("closes_at"),
                    late_policy=data["late_policy"],
                    late_penalty_percent=data.get("late_penalty_percent") or 0,
                    timer_extension_minutes=data.get("timer_extension_minutes") or 0,
                )
                return page_redirect("quizzes:manage", launch, quiz.pk)
            except QuizError as refused:
                error = str(refused.user_message)
        else:
            error = _errors(form)
    context = {
        "launch": launch,
        "quiz": quiz,
        "form": form,
        "zone": zone,
        "error": error,
        "platform": platform_dates(launch),
    }
    return render(request, "quizzes/quiz_dates.html", context, status=400 if error else 200)


@never_cache
@staff_page
@require_http_methods(["GET", "POST"])
def accommodations_page(request: HttpRequest) -> HttpResponse:
    """Each learner's extra time and attempts in the course; one learner's row is saved at a time."""
    launch = launch_of(request)
    error, saved, status = "", "", 200
    if request.method == "POST":
        form = AccommodationForm(request.POST)
        learner = accommodations.learner_in_course(launch=launch, user_id=request.POST.get("user", ""))
        if not form.is_valid():
            error, status = f"Nothing was changed for {learner.name or learner.sub}: {_errors(form)}", 400
        else:
            data = form.cleaned_data
            course = scope_of(request).context
            assert course is not None  # learner_in_course refused a launch outside a course
            try:
                accommodations.accommodation_set(
                    context=course,
                    learner=learner,
                    actor=user_of(request),
                    time_factor=data.get("time_factor"),
                    extra_minutes=data.get("extra_minutes"),
                    extra_attempts=data.get("extra_attempts"),
                )
            except QuizError as refused:
                error = gettext("Nothing was changed for %(name)s: %(problem)s") % {
                    "name": learner.name or learner.sub,
                    "problem": refused.user_message,
                }
                status = refused.status
            else:
                return page_redirect("quizzes:accommodations", launch, saved=str(learner.pk))
    if request.GET.get("saved", "").isdigit():
        saved = request.GET["saved"]
    rows = accommodations.learners_of(launch=launch)
    page = {"launch": launch, "rows": rows, "error": error, "saved": saved}
    return render(request, "quizzes/accommodations.html", page, status=status)


@tool_page
@never_cache
@require_POST
def attempt_extend(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """The learner's "Add time" (WCAG 2.2.1): the script gets the new time left; without scripts, the page."""
    launch = launch_of(request)
    attempt = windows.attempt_extend(attempt=selectors.attempt_for_launch(launch=launch, attempt_id=attempt_id))
    if wants_json(request):
        return JsonResponse(
            {
                "seconds_left": attempt.seconds_left(),
                "extensions_left": windows.extensions_left(attempt),
                "minutes": attempt.quiz.timer_extension_minutes,
            }
        )
    return page_redirect("quizzes:attempt", launch, attempt.pk)
