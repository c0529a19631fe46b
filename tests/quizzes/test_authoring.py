"""Generation with a person in the loop: drafts, review, edit, regenerate, publish, versioning."""

from __future__ import annotations

import json

import pytest

from lms_tool.core.models import AuditEvent, DomainEvent
from lms_tool.quizzes import services
from lms_tool.quizzes.errors import QuizError
from lms_tool.quizzes.models import GenerationRun, Question

from .factories import course_text, make_course, make_quiz

pytestmark = pytest.mark.django_db

ALL = ["single", "multiple", "true_false", "numeric", "short", "free_text"]


def test_generation_writes_drafts_with_model_prompt_and_source():
    course = make_course()

    quiz = make_quiz(course, count=8, types=ALL, publish=False)

    run = quiz.generation_runs.get()
    assert run.state == GenerationRun.State.DONE and run.percent == 100
    assert run.model == "offline-v1" and "types=single,multiple" in run.prompt
    questions = list(quiz.questions.current())
    assert len(questions) == 8 == run.created_count
    assert {q.type for q in questions} == set(ALL)
    for q in questions:
        assert q.status == Question.Status.DRAFT
        assert q.model == "offline-v1" and q.generation_run == run
        assert q.explanation and q.source_passage
    assert [q.position for q in questions] == list(range(1, 9))


def test_unusable_model_output_is_kept_on_the_run_with_its_reason(settings, chat_server):
    settings.AI = {"BASE_URL": chat_server.base_url, "MODEL": "m", "MAX_RETRIES": 0, "TIMEOUT_SECONDS": 5}
    good = {
        "type": "single",
        "question": "Largest artery?",
        "options": ["aorta", "vein"],
        "answer_index": 0,
        "explanation": "",
        "source_passage": "The aorta is the largest artery.",
    }
    chat_server.script = [{"content": json.dumps({"questions": [good, {**good, "answer_index": 5}]})}]
    course = make_course()

    quiz = make_quiz(course, count=2, types=["single"], publish=False)

    run = quiz.generation_runs.get()
    assert quiz.questions.count() == 1
    assert run.rejected == [
        {"reason": "answer index 5 is out of range (2 options)", "raw": {**good, "answer_index": 5}}
    ]
    assert run.model == "m"


def test_a_provider_failure_midway_fails_the_run_and_keeps_the_drafts_already_written(settings, chat_server):
    settings.AI = {"BASE_URL": chat_server.base_url, "MODEL": "m", "MAX_RETRIES": 0, "TIMEOUT_SECONDS": 5}
    good = {
        "type": "true_false",
        "question": "The heart has four chambers.",
        "answer": True,
        "explanation": "",
        "source_passage": "The heart has four chambers.",
    }
    chat_server.script = [{"content": json.dumps({"questions": [good]})}, {"status": 503}]
    long_text = "\n\n".join(course_text(n) for n in ("heart.md", "printing.md", "water_cycle.md")) * 3
    course = make_course()

    quiz = make_quiz(course, count=4, types=["true_false"], publish=False, text=long_text)

    run = quiz.generation_runs.get()
    assert run.state == GenerationRun.State.FAILED and "HTTP 503" in run.error
    assert run.parts_total >= 2 and run.parts_done == 1
    assert quiz.questions.count() == 1


def test_it_refuses_more_questions_than_the_limit_with_the_limit(settings):
    settings.QUIZZES = {**settings.QUIZZES, "MAX_QUESTIONS": 10}
    course = make_course()

    with pytest.raises(QuizError, match=r"between 1 and 10 questions \(you asked for 11\)"):
        make_quiz(course, count=11)


def test_it_refuses_unknown_question_types():
    with pytest.raises(QuizError, match="unknown: essay"):
        make_quiz(make_course(), types=["essay"])


def test_publishing_waits_for_every_draft_to_be_reviewed():
    course = make_course()
    quiz = make_quiz(course, count=3, publish=False)

    with pytest.raises(QuizError, match="3 questions still need your review"):
        services.quiz_publish(quiz=quiz, user=course.instructor)
    services.questions_approve_all(quiz=quiz, user=course.instructor)
    published = services.quiz_publish(quiz=quiz, user=course.instructor)

    assert published.is_published
    assert AuditEvent.objects.filter(action="quiz.publish", object_id=str(quiz.pk)).exists()
    assert DomainEvent.objects.filter(type="quiz.published", subject_id=str(quiz.pk)).exists()


def test_an_empty_quiz_cannot_be_published():
    course = make_course()
    quiz = make_quiz(course, count=1, publish=False)
    for question in quiz.questions.all():
        services.question_delete(question=question, user=course.instructor)

    with pytest.raises(QuizError, match="no questions yet"):
        services.quiz_publish(quiz=quiz, user=course.instructor)


def test_an_instructor_edit_is_checked_like_model_output_and_approves_the_question():
    course = make_course()
    quiz = make_quiz(course, count=1, types=["single"], publish=False)
    question = quiz.questions.get()

    with pytest.raises(QuizError, match="answer index 5 is out of range"):
        services.question_draft_from_form(
            kind="single",
            data={"question": "Q?", "options": ["a", "b"], "answer_index": 5, "explanation": "", "source_passage": ""},
        )
    draft = services.question_draft_from_form(
        kind="single",
        data={
            "question": "Which organ pumps blood?",
            "options": ["heart", "lung", "liver"],
            "answer_index": 0,
            "explanation": "Stated.",
            "source_passage": "The heart pumps blood.",
        },
    )
    edited = services.question_update(question=question, user=course.instructor, draft=draft, points=2)

    assert edited.pk == question.pk, "no answers yet: edited in place"
    assert edited.status == Question.Status.APPROVED and edited.points == 2
    assert edited.options == ["heart", "lung", "liver"]


def test_a_question_that_students_answered_gets_a_new_revision_and_the_quiz_a_new_version():
    course = make_course()
    quiz = make_quiz(course, count=2, types=["true_false"])
    attempt = services.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)
    first = quiz.questions.current().first()
    services.answer_save(attempt=attempt, question_id=first.pk, response=0)
    draft = services.question_draft_from_form(
        kind="true_false",
        data={"question": "The heart has four chambers.", "answer": True, "explanation": "", "source_passage": ""},
    )

    edited = services.question_update(question=first, user=course.instructor, draft=draft, points=1)

    first.refresh_from_db()
    quiz.refresh_from_db()
    assert edited.pk != first.pk and edited.supersedes == first and edited.revision == 2
    assert not first.is_current and first.prompt != edited.prompt
    assert quiz.version == 2
    assert first.pk in attempt.question_ids and attempt.quiz_version == 1
    assert (
        edited.pk
        in services.attempt_start(quiz=quiz, user=course.instructor, resource_link=None, preview=True).question_ids
    )


def test_deleting_an_answered_question_keeps_it_for_its_attempts():
    course = make_course()
    quiz = make_quiz(course, count=2, types=["true_false"])
    attempt = services.attempt_start(quiz=quiz, user=course.student, resource_link=course.link)
    question = quiz.questions.get(pk=attempt.question_ids[0])
    services.answer_save(attempt=attempt, question_id=question.pk, response=1)

    services.question_delete(question=question, user=course.instructor)

    question.refresh_from_db()
    assert not question.is_current
    assert quiz.questions.current().count() == 1


def test_regenerating_replaces_a_question_with_a_new_draft_in_its_place():
    course = make_course()
    quiz = make_quiz(course, count=3, types=["single"])
    old = quiz.questions.current()[1]

    run = services.question_regenerate(question=old, user=course.instructor)
    services.generation_execute(run_id=run.pk)

    current = list(quiz.questions.current())
    assert len(current) == 3 and old not in current
    new = current[1]
    assert new.type == "single" and new.status == Question.Status.DRAFT and new.position == old.position
    assert new.prompt not in {q.prompt for q in current if q.pk != new.pk}
