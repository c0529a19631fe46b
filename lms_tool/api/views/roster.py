"""Users, courses and enrollments: what an SIS reads and provisions."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from lms_tool.lti.models import Context, LtiUser, Membership
from lms_tool.roster.roles import PERMISSIONS

from .. import selectors, services
from ..idempotency import idempotent
from ..serializers import ENROLLMENT_VALUES, CourseOut, EnrollmentOut, UserOut
from .common import DetailApi, ListApi


class UserListApi(ListApi):
    required_scopes = {"GET": "roster:read"}
    serializer_class = UserOut
    query_filters = {
        "registration": ("registration_id", "int", "Only users of this registration (platform)."),
        "sub": ("sub", "str", "The platform's user id."),
        "email": ("email__blind", "str", "Exact email (case-insensitive). Needs the pii:read scope."),
        "sis_id": ("sis_id__blind", "str", "Exact SIS id. Needs the pii:read scope."),
    }

    def get_queryset(self) -> Any:
        asked = {"email", "sis_id"} & set(self.request.query_params)
        if asked and not self.client.has_scope("pii:read"):
            raise exceptions.PermissionDenied(f"Filtering by {', '.join(sorted(asked))} needs the pii:read scope.")
        return selectors.users_for(client=self.client)


class UserDetailApi(DetailApi):
    required_scopes = {"GET": "roster:read"}
    serializer_class = UserOut
    model = LtiUser

    def get_queryset(self) -> Any:
        return selectors.users_for(client=self.client)


class CourseListApi(ListApi):
    required_scopes = {"GET": "roster:read"}
    serializer_class = CourseOut
    query_filters = {
        "registration": ("registration_id", "int", "Only courses of this registration (platform)."),
        "context_id": ("context_id", "str", "The platform's course id."),
    }

    def get_queryset(self) -> Any:
        return selectors.contexts_for(client=self.client)


class CourseDetailApi(DetailApi):
    required_scopes = {"GET": "roster:read"}
    serializer_class = CourseOut
    model = Context

    def get_queryset(self) -> Any:
        return selectors.contexts_for(client=self.client)


class EnrollmentIn(serializers.Serializer):
    class UserIn(serializers.Serializer):
        sub = serializers.CharField(max_length=255, help_text="The platform's user id (LTI 'sub').")
        name = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
        email = serializers.EmailField(max_length=500, required=False, allow_blank=True, default="")
        sis_id = serializers.CharField(
            max_length=255,
            required=False,
            allow_blank=True,
            default="",
            help_text="The person's id in the SIS; stored encrypted.",
        )

    course = serializers.IntegerField(min_value=1, help_text="Course id in this API (not the platform's).")
    user = UserIn()
    roles = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(PERMISSIONS)), min_length=1, max_length=7, default=["Learner"]
    )


class EnrollmentListApi(ListApi):
    """GET enrollments; POST pre-provisions one (or re-activates it) before the person's first launch."""

    required_scopes = {"GET": "roster:read", "POST": "enrollments:write"}
    serializer_class = EnrollmentOut
    query_filters = {
        "course": ("context_id", "int", "Only enrollments in this course."),
        "user": ("user_id", "int", "Only enrollments of this user."),
        "is_active": ("is_active", "bool", "Only active (true) or dropped (false) enrollments."),
    }

    def get_queryset(self) -> Any:
        # Plain rows: building 1,000 model objects per page would cost more than the query.
        return selectors.enrollments_for(client=self.client).values(*ENROLLMENT_VALUES)

    @extend_schema(request=EnrollmentIn, responses={200: EnrollmentOut, 201: EnrollmentOut})
    @idempotent
    def post(self, request: Request) -> Response:
        data = EnrollmentIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        # A course outside the reach is answered as a missing one: ids of other courses stay unknown.
        context = selectors.contexts_for(client=self.client).filter(pk=values["course"]).first()
        if context is None:
            raise exceptions.ValidationError({"course": ["No such course."]})
        membership, created = services.enrollment_provision(
            client=self.client,
            context=context,
            sub=values["user"]["sub"],
            roles=values["roles"],
            name=values["user"]["name"],
            email=values["user"]["email"],
            sis_id=values["user"]["sis_id"],
        )
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(EnrollmentOut(membership).data, status=code)


class EnrollmentDetailApi(DetailApi):
    """GET one enrollment; DELETE drops it (access revoked as an NRPS removal; history kept)."""

    required_scopes = {"GET": "roster:read", "DELETE": "enrollments:write"}
    serializer_class = EnrollmentOut
    model = Membership

    def get_queryset(self) -> Any:
        return selectors.enrollments_for(client=self.client)

    @extend_schema(responses={200: EnrollmentOut})
    @idempotent
    def delete(self, request: Request, pk: int) -> Response:
        membership = self.get_object()
        dropped = services.enrollment_drop(client=self.client, membership=membership)
        return Response(EnrollmentOut(dropped).data)
