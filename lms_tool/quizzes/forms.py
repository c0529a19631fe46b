"""Forms: field checks and messages; the services decide the rest."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from lms_tool.ai.types import DIFFICULTIES

from .models import AnswerRelease, Question, Quiz
from .services.delivery import integrity_of

TYPE_CHOICES = Question.Type.choices
DEFAULT_TYPES = ["single", "true_false", "short"]
DIFFICULTY_LABELS = {"easy": _("Easy"), "medium": _("Medium"), "hard": _("Hard")}


class QuizCreateForm(forms.Form):
    title = forms.CharField(max_length=200, label=_("Title"))
    text = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 10}),
        label=_("Course text"),
        help_text=_("Paste the material, or upload a file below."),
    )
    upload = forms.FileField(required=False, label=_("Or upload Markdown, HTML, text or PDF"))
    count = forms.IntegerField(min_value=1, initial=5, label=_("Number of questions"))
    types = forms.MultipleChoiceField(
        choices=TYPE_CHOICES, initial=DEFAULT_TYPES, widget=forms.CheckboxSelectMultiple, label=_("Question types")
    )
    difficulty = forms.ChoiceField(
        choices=[(d, DIFFICULTY_LABELS.get(d, d.title())) for d in DIFFICULTIES],
        initial="medium",
        label=_("Difficulty"),
    )
    time_limit_minutes = forms.IntegerField(min_value=1, required=False, label=_("Time limit (minutes)"))
    max_attempts = forms.IntegerField(min_value=0, initial=1, label=_("Attempts allowed (0 = unlimited)"))

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        limit = settings.QUIZZES["MAX_QUESTIONS"]
        self.fields["count"].validators.append(
            MaxValueValidator(limit, _("Ask for at most %(limit)d questions.") % {"limit": limit})
        )
        self.fields["count"].help_text = _("At most %(limit)d.") % {"limit": limit}
        self.fields["count"].widget.attrs["max"] = limit
        # Said before pasting, not only in the refusal after it (services/material.py text_checked).
        chars = settings.QUIZZES["MAX_TEXT_CHARS"]
        self.fields["text"].help_text = _(
            "Paste the material (at most %(chars)s characters), or upload a file below."
        ) % {"chars": f"{chars:,}"}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("text", "").strip() and not data.get("upload"):
            raise forms.ValidationError(_("Paste the course text or upload a file."))
        types, count = data.get("types") or [], data.get("count")
        if count is not None and count < len(types):
            # Every ticked type should appear: say so now rather than leave a type out without a word.
            raise forms.ValidationError(
                ngettext(
                    "You ticked %(types)d question types but asked for %(count)d question: "
                    "ask for at least %(types)d questions, or tick fewer types.",
                    "You ticked %(types)d question types but asked for %(count)d questions: "
                    "ask for at least %(types)d questions, or tick fewer types.",
                    count,
                )
                % {"types": len(types), "count": count}
            )
        return data


class QuizSettingsForm(forms.Form):
    title = forms.CharField(max_length=200, label=_("Title"))
    time_limit_minutes = forms.IntegerField(min_value=1, required=False, label=_("Time limit (minutes)"))
    max_attempts = forms.IntegerField(min_value=0, label=_("Attempts allowed (0 = unlimited)"))
    review_threshold = forms.FloatField(
        min_value=0,
        max_value=1,
        label=_("Review AI grades below this confidence"),
        help_text=_("Between 0 and 1; 0.8 by default."),
    )


class QuizIntegrityForm(forms.Form):
    """The integrity settings, on the quiz's settings form (docs/assessment.md, "Integrity settings").

    Posted with the marker field ``integrity``: a settings post without it (an older page) leaves them as they
    are, since an unticked box and a missing one look the same."""

    integrity = forms.CharField(widget=forms.HiddenInput, initial="1")
    shuffle_questions = forms.BooleanField(required=False, label=_("Shuffle the questions for each learner"))
    shuffle_options = forms.BooleanField(required=False, label=_("Shuffle the options of choice questions"))
    draw_count = forms.IntegerField(
        min_value=1,
        required=False,
        label=_("Questions each learner draws"),
        help_text=_("Leave empty to give every approved question. A number draws that many at random from them."),
    )
    show_answers = forms.ChoiceField(choices=AnswerRelease.choices, label=_("Show correct answers and explanations"))
    one_per_page = forms.TypedChoiceField(
        choices=[("0", _("All questions on one page")), ("1", _("One question per page"))],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
        label=_("Layout"),
    )
    allow_review = forms.BooleanField(
        required=False,
        label=_("Learners may review their submitted attempts"),
        help_text=_("Off: after submitting, a learner sees the score only."),
    )

    def __init__(self, *args: Any, pool: int | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if pool is not None:
            self.fields["draw_count"].help_text = " ".join(
                (
                    str(self.fields["draw_count"].help_text),
                    ngettext(
                        "This quiz has %(count)s approved question.",
                        "This quiz has %(count)s approved questions.",
                        pool,
                    )
                    % {"count": pool},
                )
            )
            self.fields["draw_count"].widget.attrs["max"] = max(pool, 1)

    @staticmethod
    def initial_for(quiz: Quiz) -> dict[str, Any]:
        return {**integrity_of(quiz), "one_per_page": "1" if quiz.one_per_page else "0"}


class QuestionEditForm(forms.Form):
    prompt = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label=_("Question"))
    options = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 5}), label=_("Options (one per line)")
    )
    correct = forms.CharField(
        required=False,
        label=_("Correct option number(s)"),
        help_text=_("Counting from 1; several separated by commas."),
    )
    answer = forms.CharField(required=False, label=_("Answer"), help_text=_("Expected words, number, or model answer."))
    tolerance = forms.FloatField(required=False, min_value=0, label=_("Tolerance (numeric questions)"))
    points = forms.FloatField(min_value=0.01, initial=1, label=_("Points"))
    explanation = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label=_("Explanation"))
    source_passage = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label=_("Source passage")
    )

    @staticmethod
    def initial_for(question: Question) -> dict[str, Any]:
        answer: Any = question.answers[0] if question.answers else ""
        if question.type == Question.Type.NUMERIC:
            answer = f"{question.numeric_answer:g}" if question.numeric_answer is not None else ""
        return {
            "prompt": question.prompt,
            "options": "\n".join(question.options) if question.type != Question.Type.TRUE_FALSE else "",
            "correct": ", ".join(str(i + 1) for i in question.correct),
            "answer": answer
            if question.type != Question.Type.TRUE_FALSE
            else ("true" if question.correct == [0] else "false"),
            "tolerance": question.tolerance,
            "points": question.points,
            "explanation": question.explanation,
            "source_passage": question.source_passage,
        }

    def as_model_item(self, kind: str) -> dict[str, Any]:
        """The edit in the shape a model's answer has, so the same validation applies."""
        data = self.cleaned_data
        options = [line for line in data.get("options", "").splitlines()]
        numbers: list[int] = []
        for part in data.get("correct", "").replace(";", ",").split(","):
            if part.strip():
                if not part.strip().isdigit():
                    raise forms.ValidationError(_("Correct option numbers are whole numbers, like 2 or 1, 3."))
                numbers.append(int(part.strip()) - 1)
        item: dict[str, Any] = {
            "question": data["prompt"],
            "explanation": data.get("explanation", ""),
            "source_passage": data.get("source_passage", ""),
            "tolerance": data.get("tolerance") or 0,
            "answer": data.get("answer", ""),
        }
        if kind == Question.Type.SINGLE:
            item.update(options=options, answer_index=numbers[0] if len(numbers) == 1 else None)
            if len(numbers) > 1:
                raise forms.ValidationError(_("A single-choice question has exactly one correct option."))
        elif kind == Question.Type.MULTIPLE:
            item.update(options=options, answer_indices=numbers)
        return item


class QuestionNewForm(QuestionEditForm):
    """A question written by hand: its type first, then the fields of ``QuestionEditForm``."""

    type = forms.ChoiceField(choices=TYPE_CHOICES, label=_("Question type"))
    field_order = ["type", "prompt", "options", "correct", "answer", "tolerance", "points", "explanation"]

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["options"].help_text = _("Single and multiple choice only.")
        self.fields["correct"].help_text = _("Choice questions: counting from 1; several separated by commas.")
        self.fields["answer"].help_text = _(
            "True / false: true or false. Numeric: the number. Short answer: the expected words. "
            "Free text: a model answer the grading compares with."
        )
        self.fields["source_passage"].label = _("Source passage (optional)")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("type")
        if kind in (Question.Type.SINGLE, Question.Type.MULTIPLE):
            if len([line for line in data.get("options", "").splitlines() if line.strip()]) < 2:
                self.add_error("options", _("Write at least two options, one per line."))
            if not data.get("correct", "").strip():
                self.add_error("correct", _("Give the number of the correct option (counting from 1)."))
        elif kind and not str(data.get("answer", "")).strip():
            self.add_error("answer", _("Give the answer."))
        return data
