"""What taking a question out of a quiz involves; shared by authoring and generation."""

from __future__ import annotations

from ..models import Question, Quiz


def quiz_version_bump(*, quiz: Quiz) -> None:
    """A published quiz that students have attempted gets a new version for later attempts."""
    if quiz.is_published and quiz.attempts.exists():
        Quiz.objects.filter(pk=quiz.pk).update(version=quiz.version + 1)
        quiz.version += 1


def question_retire(*, question: Question) -> None:
    """Take a question out of the quiz: deleted if no attempt has it, else kept (not current) for its attempts.

    An attempt that drew it but has no answer yet still grades it (0 points) and shows it on its pages."""
    if question.given_answers.exists() or question.seen_by.exists():
        Question.objects.filter(pk=question.pk).update(is_current=False)
        quiz_version_bump(quiz=question.quiz)
    else:
        question.delete()
