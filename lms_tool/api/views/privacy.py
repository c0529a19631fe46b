"""Access and erasure requests for one person, and pseudonymous analytics rows."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from lms_tool.lti.models import LtiUser
from lms_tool.privacy import services
from lms_tool.privacy.pseudonyms import pseudonym

from .. import selectors
from ..idempotency import idempotent
from .common import ListApi, ObjectApi


class PersonExportOut(serializers.Serializer):
    generated_at = serializers.DateTimeField()
    limited_to_reach = serializers.BooleanField(
        help_text="True for clients without 'all contexts': only records of the courses they reach are included."
    )
    person = serializers.DictField()
    records = serializers.DictField(child=serializers.ListField(child=serializers.DictField()))
    audit_log = serializers.ListField(child=serializers.DictField())
    events = serializers.ListField(child=serializers.DictField())


class EraseIn(serializers.Serializer):
    mode = serializers.ChoiceField(
        choices=["anonymise", "delete"],
        default="anonymise",
        help_text=(
            "anonymise: blank name, email and SIS id, keep records; delete: remove the person and records "
            "(a client that does not reach all the person's courses: only the records in its courses)."
        ),
    )


class EraseOut(serializers.Serializer):
    mode = serializers.CharField()
    person = serializers.ChoiceField(
        choices=["anonymised", "deleted", "kept"],
        help_text="kept: the person also has records in courses outside the client's reach (see docs/api.md).",
    )
    related_rows = serializers.DictField(child=serializers.IntegerField())


class UserExportApi(ObjectApi):
    """Everything held about one person in the client's reach (an access request); recorded in the audit log."""

    required_scopes = {"GET": "privacy:export"}
    model = LtiUser

    def get_queryset(self) -> Any:
        return selectors.users_for(client=self.client)

    @extend_schema(responses={200: PersonExportOut})
    def get(self, request: Request, pk: int) -> Response:
        data = services.person_export(
            user=self.get_object(),
            actor_type="api_client",
            actor_id=self.client.client_id,
            courses=selectors.courses_limit(client=self.client),
        )
        return Response(data)


class UserEraseApi(ObjectApi):
    """Erase one person's records in the client's reach (their own row only if that is all of them); audited."""

    required_scopes = {"POST": "privacy:erase"}
    model = LtiUser

    def get_queryset(self) -> Any:
        return selectors.users_for(client=self.client)

    @extend_schema(request=EraseIn, responses={200: EraseOut})
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        user = self.get_object()
        data = EraseIn(data=request.data)
        data.is_valid(raise_exception=True)
        summary = services.person_erase(
            user=user,
            actor_type="api_client",
            actor_id=self.client.client_id,
            delete=data.validated_data["mode"] == "delete",
            courses=selectors.courses_limit(client=self.client),
        )
        return Response(summary)


class AnalyticsEnrollmentOut(serializers.Serializer):
    learner = serializers.SerializerMethodField(help_text="Pseudonymous id: the same person, the same id.")
    course = serializers.IntegerField(source="context_id")
    roles = serializers.ListField(child=serializers.CharField())
    is_active = serializers.BooleanField()
    last_launch_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()

    def get_learner(self, membership: Any) -> str:
        return pseudonym(registration_pk=membership.context.registration_id, sub=membership.user.sub)


class AnalyticsEnrollmentListApi(ListApi):
    """Enrollments for analytics consumers: pseudonymous ids, never names, emails or platform ids."""

    required_scopes = {"GET": "analytics:read"}
    serializer_class = AnalyticsEnrollmentOut
    query_filters = {"course": ("context_id", "int", "Only this course.")}

    def get_queryset(self) -> Any:
        return (
            selectors.enrollments_for(client=self.client)
            .select_related("context")
            .only(*selectors.MEMBERSHIP_FIELDS, "user__sub", "context__registration_id")
        )
