"""Scores (with review state and passback status), review items and dead-lettered scores."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from lms_tool.grading import selectors as grading_selectors
from lms_tool.grading import services as grading
from lms_tool.grading.models import Score

from .. import selectors
from ..idempotency import idempotent
from .common import DetailApi, ListApi, ObjectApi


class ScoreOut(serializers.Serializer):
    id = serializers.IntegerField()
    user = serializers.IntegerField(source="user_id")
    user_sub = serializers.CharField(source="user.sub")
    course = serializers.IntegerField(source="resource_link.context_id")
    resource_link_id = serializers.CharField(source="resource_link.resource_link_id")
    line_item = serializers.CharField(source="line_item.url")
    score_given = serializers.FloatField(allow_null=True)
    score_maximum = serializers.FloatField()
    activity_progress = serializers.CharField()
    grading_progress = serializers.CharField()
    comment = serializers.CharField()
    timestamp = serializers.DateTimeField()
    source = serializers.CharField(help_text="automatic, ai or instructor")
    confidence = serializers.FloatField(allow_null=True)
    review_state = serializers.CharField(help_text="not_needed, needs_review, confirmed or overridden")
    reviewed_by = serializers.IntegerField(source="reviewed_by_id", allow_null=True)
    reviewed_at = serializers.DateTimeField(allow_null=True)
    passback_state = serializers.CharField(help_text="pending, posted, held, failed, dead or superseded")
    attempts = serializers.IntegerField()
    last_status = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    posted_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


# What the API shows of a score: not the platform's last answer, nor the learner's encrypted PII.
_UNSHOWN = ("last_response", "user__name", "user__email")


def scores_for(client: Any) -> Any:
    return (
        Score.objects.filter(client.context_q("resource_link__context"))
        .select_related("user", "resource_link", "line_item")
        .defer(*_UNSHOWN)
    )


class ScoreListApi(ListApi):
    required_scopes = {"GET": "scores:read"}
    serializer_class = ScoreOut
    query_filters = {
        "course": ("resource_link__context_id", "int", "Only this course's scores."),
        "user": ("user_id", "int", "Only this user's scores."),
        "review_state": ("review_state", "str", "not_needed, needs_review, confirmed or overridden"),
        "passback_state": ("passback_state", "str", "pending, posted, held, failed, dead or superseded"),
    }

    def get_queryset(self) -> Any:
        return scores_for(self.client)


class ScoreDetailApi(DetailApi):
    required_scopes = {"GET": "scores:read"}
    serializer_class = ScoreOut
    model = Score

    def get_queryset(self) -> Any:
        return scores_for(self.client)


class ReviewItemListApi(ListApi):
    """AI grades waiting for an instructor (the review queue of every reachable course)."""

    required_scopes = {"GET": "reviews:read"}
    serializer_class = ScoreOut
    query_filters = {"course": ("resource_link__context_id", "int", "Only this course's review items.")}

    def get_queryset(self) -> Any:
        reach = selectors.courses_limit(client=self.client)
        return grading_selectors.scores_needing_review(contexts=reach).defer(*_UNSHOWN)


class DecisionIn(serializers.Serializer):
    reviewer = serializers.IntegerField(min_value=1, help_text="The instructor deciding (a user id in this API).")
    score_given = serializers.FloatField(min_value=0, help_text="The same value confirms; another overrides.")
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ReviewDecisionApi(ObjectApi):
    """Confirm or override an AI grade for an instructor; posted FullyGraded, audited as any review."""

    required_scopes = {"POST": "reviews:write"}
    model = Score

    def get_queryset(self) -> Any:
        return scores_for(self.client)

    @extend_schema(request=DecisionIn, responses={200: ScoreOut})
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        score = self.get_object()
        data = DecisionIn(data=request.data)
        data.is_valid(raise_exception=True)
        # Only people in the client's reach: another course's user id answers as a missing one.
        reviewer = selectors.users_for(client=self.client).filter(pk=data.validated_data["reviewer"]).first()
        if reviewer is None:
            raise exceptions.ValidationError({"reviewer": ["No such user."]})
        decided = grading.score_review_decide(
            score=score,
            reviewer=reviewer,
            score_given=data.validated_data["score_given"],
            comment=data.validated_data["comment"],
            api_client_id=self.client.client_id,
        )
        return Response(ScoreOut(decided).data)


class DeadLetterListApi(ListApi):
    """Scores the platform would not take (retries exhausted or refused); replayable."""

    required_scopes = {"GET": "deadletters:read"}
    serializer_class = ScoreOut
    query_filters = {"course": ("resource_link__context_id", "int", "Only this course's dead letters.")}

    def get_queryset(self) -> Any:
        reach = selectors.courses_limit(client=self.client)
        return grading_selectors.scores_dead(contexts=reach).defer(*_UNSHOWN)


class DeadLetterReplayApi(ObjectApi):
    """Post a dead-lettered score again (the platform de-duplicates by timestamp)."""

    required_scopes = {"POST": "deadletters:write"}
    model = Score

    def get_queryset(self) -> Any:
        return scores_for(self.client)

    @extend_schema(request=None, responses={202: ScoreOut})
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        score = grading.score_replay(score=self.get_object(), actor=self.client.client_id, actor_type="api_client")
        return Response(ScoreOut(scores_for(self.client).get(pk=score.pk)).data, status=status.HTTP_202_ACCEPTED)
