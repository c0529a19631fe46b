"""Writes of the quizzes app, one module per concern; import from here."""

from .attempts import answer_save, attempt_start, attempt_submit, attempts_close_expired, attempts_used
from .authoring import (
    question_add,
    question_approve,
    question_delete,
    question_draft_from_form,
    question_regenerate,
    question_update,
    questions_approve_all,
    quiz_copy,
    quiz_create,
    quiz_publish,
    quiz_settings_update,
)
from .generation import generation_execute, generation_start, run_explained
from .material import text_checked, text_from_upload
from .regrade import RegradeResult, question_regrade, question_successor
from .review import answer_review_decide

__all__ = [
    "RegradeResult",
    "answer_review_decide",
    "answer_save",
    "attempt_start",
    "attempt_submit",
    "attempts_close_expired",
    "attempts_used",
    "generation_execute",
    "generation_start",
    "question_add",
    "question_approve",
    "question_delete",
    "question_draft_from_form",
    "question_regenerate",
    "question_regrade",
    "question_successor",
    "question_update",
    "questions_approve_all",
    "quiz_copy",
    "quiz_create",
    "quiz_publish",
    "quiz_settings_update",
    "run_explained",
    "text_checked",
    "text_from_upload",
]
