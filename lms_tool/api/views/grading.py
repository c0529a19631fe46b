"""Scores (with review state and passback status), review items and dead-lettered scores."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from lms_tool.core.services import audit_record
from lms_tool.grading import services as grading
from lms_tool.grading.models import PassbackState, ReviewState, Score

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


def scores_for(client: Any) -> Any:
    return (
        Score.objects.filter(client.context_q("resource_link__context"))
        .select_related("user", "resource_link", "line_item")
        .defer("last_response", "user__name", "user__email")
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
        # As grading.selectors.scores_needing_review, across courses: a grade replaced by a newer one is no item.
        newer = Score.objects.filter(line_item=OuterRef("line_item"), user=OuterRef("user"), pk__gt=OuterRef("pk"))
        return (
            scores_for(self.client)
            .filter(review_state=ReviewState.NEEDS_REVIEW)
            .exclude(passback_state=PassbackState.SUPERSEDED)
            .exclude(Exists(newer.exclude(passback_state=PassbackState.SUPERSEDED)))
        )


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
        )
        audit_record(
            actor_type="api_client",
            actor_id=self.client.client_id,
            action="review.decided_via_api",
            object_type="score",
            object_id=decided.pk,
            source="api",
            after={"reviewer": reviewer.pk, "review_state": decided.review_state},
        )
        return Response(ScoreOut(decided).data)


class DeadLetterListApi(ListApi):
    """Scores the platform would not take (retries exhausted or refused); replayable."""

    required_scopes = {"GET": "deadletters:read"}
    serializer_class = ScoreOut
    query_filters = {"course": ("resource_link__context_id", "int", "Only this course's dead letters.")}

    def get_queryset(self) -> Any:
        return scores_for(self.client).filter(passback_state__in=[PassbackState.DEAD, PassbackState.FAILED])


class DeadLetterReplayApi(ObjectApi):
    """Post a dead-lettered score again (the platform de-duplicates by timestamp)."""

    required_scopes = {"POST": "deadletters:write"}
    model = Score

    def get_queryset(self) -> Any:
        return scores_for(self.client)

    @extend_schema(request=None, responses={202: ScoreOut})
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        score = grading.score_replay(score=self.get_object(), actor=f"api_client:{self.client.client_id}")
        audit_record(
            actor_type="api_client",
            actor_id=self.client.client_id,
            action="score.replay_requested",
            object_type="score",
            object_id=score.pk,
            source="api",
        )
        return Response(ScoreOut(scores_for(self.client).get(pk=score.pk)).data, status=status.HTTP_202_ACCEPTED)
