from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from .views import log, roster, webhooks

app_name = "api"

v1 = [
    path("users", roster.UserListApi.as_view(), name="user-list"),
    path("users/<int:pk>", roster.UserDetailApi.as_view(), name="user-detail"),
    path("courses", roster.CourseListApi.as_view(), name="course-list"),
    path("courses/<int:pk>", roster.CourseDetailApi.as_view(), name="course-detail"),
    path("enrollments", roster.EnrollmentListApi.as_view(), name="enrollment-list"),
    path("enrollments/<int:pk>", roster.EnrollmentDetailApi.as_view(), name="enrollment-detail"),
    path("audit-events", log.AuditEventListApi.as_view(), name="audit-list"),
    path("events", log.DomainEventListApi.as_view(), name="event-list"),
    path("webhooks/subscriptions", webhooks.SubscriptionListApi.as_view(), name="webhook-subscription-list"),
    path(
        "webhooks/subscriptions/<int:pk>", webhooks.SubscriptionDetailApi.as_view(), name="webhook-subscription-detail"
    ),
    path("webhooks/deliveries", webhooks.DeliveryListApi.as_view(), name="webhook-delivery-list"),
    path("webhooks/deliveries/<int:pk>/replay", webhooks.DeliveryReplayApi.as_view(), name="webhook-delivery-replay"),
]

urlpatterns = [
    path("v1/", include((v1, "v1"))),
    path(
        "schema/",
        SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[], throttle_classes=[]),
        name="schema",
    ),
    path(
        "docs/",
        SpectacularSwaggerView.as_view(
            url_name="api:schema", authentication_classes=[], permission_classes=[], throttle_classes=[]
        ),
        name="docs",
    ),
]
