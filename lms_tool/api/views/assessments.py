"""Quizzes and flashcard decks (the assessments), and submitted quiz attempts."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from lms_tool.flashcards.models import Deck
from lms_tool.quizzes.models import Attempt, Quiz

from .common import DetailApi, ListApi


class QuizOut(serializers.Serializer):
    id = serializers.IntegerField()
    course = serializers.IntegerField(source="context_id")
    title = serializers.CharField()
    status = serializers.CharField()
    version = serializers.IntegerField()
    max_attempts = serializers.IntegerField(help_text="0 means unlimited.")
    time_limit_minutes = serializers.IntegerField(allow_null=True)
    review_threshold = serializers.FloatField(help_text="AI grades less confident than this wait for an instructor.")
    published_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class DeckOut(serializers.Serializer):
    id = serializers.IntegerField()
    course = serializers.IntegerField(source="context_id")
    title = serializers.CharField()
    description = serializers.CharField()
    status = serializers.CharField()
    desired_retention = serializers.FloatField()
    published_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class AttemptOut(serializers.Serializer):
    id = serializers.IntegerField()
    quiz = serializers.IntegerField(source="quiz_id")
    course = serializers.IntegerField(source="quiz.context_id")
    user = serializers.IntegerField(source="user_id")
    user_sub = serializers.CharField(source="user.sub")
    number = serializers.IntegerField()
    quiz_version = serializers.IntegerField()
    state = serializers.CharField()
    started_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    score = serializers.FloatField(allow_null=True)
    score_maximum = serializers.FloatField()
    needs_review = serializers.BooleanField()
    score_id = serializers.IntegerField(source="score_ref", allow_null=True, help_text="The score in /scores.")


class QuizListApi(ListApi):
    required_scopes = {"GET": "assessments:read"}
    serializer_class = QuizOut
    query_filters = {
        "course": ("context_id", "int", "Only this course's quizzes."),
        "status": ("status", "str", "draft or published"),
    }

    def get_queryset(self) -> Any:
        return Quiz.objects.filter(self.client.context_q("context")).defer("source_text")


class QuizDetailApi(DetailApi):
    required_scopes = {"GET": "assessments:read"}
    serializer_class = QuizOut
    model = Quiz

    def get_queryset(self) -> Any:
        return Quiz.objects.filter(self.client.context_q("context")).defer("source_text")


class DeckListApi(ListApi):
    required_scopes = {"GET": "assessments:read"}
    serializer_class = DeckOut
    query_filters = {
        "course": ("context_id", "int", "Only this course's decks."),
        "status": ("status", "str", "draft or published"),
    }

    def get_queryset(self) -> Any:
        return Deck.objects.filter(self.client.context_q("context"))


class DeckDetailApi(DetailApi):
    required_scopes = {"GET": "assessments:read"}
    serializer_class = DeckOut
    model = Deck

    def get_queryset(self) -> Any:
        return Deck.objects.filter(self.client.context_q("context"))


class AttemptListApi(ListApi):
    """Submitted quiz attempts, in the order they were submitted (``updated_since`` compares with it)."""

    required_scopes = {"GET": "attempts:read"}
    serializer_class = AttemptOut
    cursor_field = "submitted_at"
    query_filters = {
        "quiz": ("quiz_id", "int", "Only this quiz's attempts."),
        "course": ("quiz__context_id", "int", "Only this course's attempts."),
        "user": ("user_id", "int", "Only this user's attempts."),
        "needs_review": ("needs_review", "bool", "Only attempts waiting for (or past) an instructor's review."),
    }

    def get_queryset(self) -> Any:
        rows = Attempt.objects.filter(self.client.context_q("quiz__context"), submitted_at__isnull=False)
        return (
            rows.filter(is_preview=False)
            .select_related("quiz", "user")
            .only(
                *[f.name for f in Attempt._meta.concrete_fields if f.name != "question_ids"],
                "quiz__context_id",
                "user__sub",
            )
        )


class AttemptDetailApi(DetailApi):
    required_scopes = {"GET": "attempts:read"}
    serializer_class = AttemptOut
    model = Attempt

    def get_queryset(self) -> Any:
        return Attempt.objects.filter(self.client.context_q("quiz__context"), is_preview=False).select_related(
            "quiz", "user"
        )
