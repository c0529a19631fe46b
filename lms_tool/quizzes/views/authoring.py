"""Instructors: create a quiz from course material, review its questions, publish it."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django import forms
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lms_tool.core.errors import lazy_format
from lms_tool.lti import picking
from lms_tool.lti.decorators import launch_of, page_redirect, page_url, scope_of, staff_page, user_of
from lms_tool.lti.models import Context

from .. import selectors, services
from ..errors import QuizError
from ..forms import QuestionEditForm, QuestionNewForm, QuizCreateForm, QuizIntegrityForm, QuizSettingsForm
from ..models import Question, Quiz
from ..services import delivery


def _context(request: HttpRequest) -> Context:
    context = scope_of(request).context
    if context is None:
        raise QuizError(gettext_lazy("This launch is not inside a course; open the tool from a course."), status=400)
    return context


@staff_page
@require_http_methods(["GET", "POST"])
def quiz_new(request: HttpRequest) -> HttpResponse:
    launch = launch_of(request)
    form = QuizCreateForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                return _create(request, form)
            except QuizError as error:
                form.add_error(None, error.user_message)
        status = 413 if any("limit" in str(e) for e in form.non_field_errors()) else 400
    picking = request.GET.get("pick") == "1"
    return render(request, "quizzes/quiz_new.html", {"form": form, "launch": launch, "picking": picking}, status=status)


def _create(request: HttpRequest, form: forms.Form) -> HttpResponse:
    data = form.cleaned_data
    upload = data.get("upload")
    if upload is not None:
        text = services.text_from_upload(name=upload.name, data=upload.read())
    else:
        text = services.text_checked(data["text"])
    quiz, _ = services.quiz_create(
        context=_context(request),
        user=user_of(request),
        title=data["title"],
        text=text,
        source_name=upload.name if upload is not None else "",
        count=data["count"],
        types=list(data["types"]),
        difficulty=data["difficulty"],
        time_limit_minutes=data.get("time_limit_minutes"),
        max_attempts=data["max_attempts"],
    )
    query = {"pick": "1"} if request.GET.get("pick") == "1" else {}
    return page_redirect("quizzes:manage", launch_of(request), quiz.pk, **query)


@staff_page
@require_GET
def quiz_manage(request: HttpRequest, quiz_id: int) -> HttpResponse:
    quiz = selectors.quiz_for_staff(launch=launch_of(request), quiz_id=quiz_id)
    return _manage_page(request, quiz)


def _manage_page(request: HttpRequest, quiz: Quiz, *, error: str = "", status: int = 200) -> HttpResponse:
    """The quiz's page; a refused action shows here with its reason, so the instructor is never left stranded."""
    launch = launch_of(request)
    questions = list(quiz.questions.current())
    run = selectors.latest_run(quiz=quiz)
    settings_form = QuizSettingsForm(
        initial={
            "title": quiz.title,
            "time_limit_minutes": quiz.time_limit_minutes,
            "max_attempts": quiz.max_attempts,
            "review_threshold": quiz.review_threshold,
        }
    )
    pool = delivery.quiz_pool_size(quiz)
    return render(
        request,
        "quizzes/quiz_manage.html",
        {
            "integrity_form": QuizIntegrityForm(initial=QuizIntegrityForm.initial_for(quiz), pool=pool),
            "drawn": delivery.quiz_question_count(quiz, pool),
            "launch": launch,
            "quiz": quiz,
            "questions": questions,
            "run": run,
            "explained": services.run_explained(run),
            "settings_form": settings_form,
            "pending": sum(q.status == Question.Status.DRAFT for q in questions),
            # Any page reached from a deep-linking launch (approve, edit...) keeps "Publish and add to course".
            "picking": request.GET.get("pick") == "1" or launch.message_type == "LtiDeepLinkingRequest",
            "run_url": page_url("quizzes:run_status", launch, quiz.pk, run.pk) if run else "",
            "error": error,
        },
        status=status,
    )


@staff_page
@require_GET
def run_status(request: HttpRequest, quiz_id: int, run_id: int) -> JsonResponse:
    quiz = selectors.quiz_for_staff(launch=launch_of(request), quiz_id=quiz_id)
    run = quiz.generation_runs.filter(pk=run_id).first()
    if run is None:
        raise QuizError(gettext_lazy("There is no such generation run."), status=404)
    return JsonResponse(
        {
            "state": run.state,
            "percent": run.percent,
            "created": run.created_count,
            "rejected": len(run.rejected),
            "error": run.error,
            "finished": run.is_finished,
        }
    )


@staff_page
@require_POST
def quiz_settings(request: HttpRequest, quiz_id: int) -> HttpResponse:
    launch = launch_of(request)
    quiz = selectors.quiz_for_staff(launch=launch, quiz_id=quiz_id)
    form = QuizSettingsForm(request.POST)
    # The integrity settings come with the same form; an older post without them leaves them as they are.
    integrity = QuizIntegrityForm(request.POST) if request.POST.get("integrity") else None
    for checked in (form, integrity):
        if checked is not None and not checked.is_valid():
            raise QuizError("The settings were not saved: " + _errors_in_words(checked))
    with transaction.atomic():  # all the settings, or none (a draw larger than the pool refuses everything)
        services.quiz_settings_update(quiz=quiz, user=user_of(request), **form.cleaned_data)
        if integrity is not None:
            fields = {k: v for k, v in integrity.cleaned_data.items() if k != "integrity"}
            delivery.quiz_integrity_update(quiz=quiz, user=user_of(request), **fields)
    return page_redirect("quizzes:manage", launch, quiz.pk)


def _errors_in_words(form: forms.Form) -> str:
    return "; ".join(f"{form.fields[k].label or k}: {' '.join(str(e) for e in v)}" for k, v in form.errors.items())


@staff_page
@require_POST
def quiz_publish(request: HttpRequest, quiz_id: int) -> HttpResponse:
    launch = launch_of(request)
    quiz = selectors.quiz_for_staff(launch=launch, quiz_id=quiz_id)
    try:
        services.quiz_publish(quiz=quiz, user=user_of(request))
    except QuizError as error:
        return _manage_page(request, quiz, error=str(error.user_message), status=error.status)
    if request.POST.get("pick") == "1":
        # "Publish and add to course" is one step: the answer is the signed response posted back (DL §4.2).
        return picking.add_to_course(request, launch=launch, activities=[f"quiz:{quiz.pk}"])
    return page_redirect("quizzes:manage", launch, quiz.pk)


@staff_page
@require_POST
def questions_approve_all(request: HttpRequest, quiz_id: int) -> HttpResponse:
    launch = launch_of(request)
    quiz = selectors.quiz_for_staff(launch=launch, quiz_id=quiz_id)
    services.questions_approve_all(quiz=quiz, user=user_of(request))
    return page_redirect("quizzes:manage", launch, quiz.pk)


def _question(request: HttpRequest, quiz_id: int, question_id: int) -> tuple[Quiz, Question]:
    quiz = selectors.quiz_for_staff(launch=launch_of(request), quiz_id=quiz_id)
    question = quiz.questions.current().filter(pk=question_id).first()
    if question is None:
        raise QuizError(gettext_lazy("There is no such question in this quiz (it may have been replaced)."), status=404)
    return quiz, question


# A path of this tool only: no scheme, host or query (never an open redirect, RFC 3986 §4.2 "//host" included).
_BACK_PATH = re.compile(r"/[A-Za-z0-9/_.-]*")


def _back_path(request: HttpRequest) -> str:
    value = request.GET.get("back", "")
    return value if _BACK_PATH.fullmatch(value) and not value.startswith("//") else ""


@staff_page
@require_http_methods(["GET", "POST"])
def question_edit(request: HttpRequest, quiz_id: int, question_id: int) -> HttpResponse:
    launch = launch_of(request)
    quiz, question = _question(request, quiz_id, question_id)
    form = QuestionEditForm(request.POST or None, initial=QuestionEditForm.initial_for(question))
    if request.method == "POST" and form.is_valid():
        try:
            draft = services.question_draft_from_form(kind=question.type, data=form.as_model_item(question.type))
            services.question_update(
                question=question, user=user_of(request), draft=draft, points=form.cleaned_data["points"]
            )
            back = _back_path(request)
            if back:  # opened from another page of the tool (the question-quality flags): back there
                return HttpResponseRedirect(back + "?" + urlencode({"launch": launch.launch_id}), status=303)
            return page_redirect("quizzes:manage", launch, quiz.pk)
        except (QuizError, forms.ValidationError) as error:
            form.add_error(None, getattr(error, "user_message", None) or "; ".join(error.messages))  # type: ignore[union-attr]
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "quizzes/question_edit.html",
        {"launch": launch, "quiz": quiz, "question": question, "form": form},
        status=status,
    )


@staff_page
@require_http_methods(["GET", "POST"])
def question_new(request: HttpRequest, quiz_id: int) -> HttpResponse:
    """A question written by hand: any type, checked by the same rules as a generated one."""
    launch = launch_of(request)
    quiz = selectors.quiz_for_staff(launch=launch, quiz_id=quiz_id)
    form = QuestionNewForm(request.POST or None, initial={"type": request.GET.get("type", "single")})
    if request.method == "POST" and form.is_valid():
        kind = form.cleaned_data["type"]
        try:
            draft = services.question_draft_from_form(kind=kind, data=form.as_model_item(kind))
            services.question_add(quiz=quiz, user=user_of(request), draft=draft, points=form.cleaned_data["points"])
            return page_redirect("quizzes:manage", launch, quiz.pk)
        except (QuizError, forms.ValidationError) as error:
            form.add_error(None, getattr(error, "user_message", None) or "; ".join(error.messages))  # type: ignore[union-attr]
    return render(
        request,
        "quizzes/question_new.html",
        {"launch": launch, "quiz": quiz, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@staff_page
@require_POST
def question_action(request: HttpRequest, quiz_id: int, question_id: int, action: str) -> HttpResponse:
    launch = launch_of(request)
    quiz, question = _question(request, quiz_id, question_id)
    user = user_of(request)
    if action == "approve":
        services.question_approve(question=question, user=user)
    elif action == "delete":
        services.question_delete(question=question, user=user)
    elif action == "regenerate":
        services.question_regenerate(question=question, user=user)
    else:
        raise QuizError(lazy_format(gettext_lazy("Unknown action %(action)s."), action=repr(action)), status=404)
    return page_redirect("quizzes:manage", launch, quiz.pk)
