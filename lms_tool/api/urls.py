from django.http import HttpRequest, JsonResponse
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from .views import analytics_risk, assessments, grading, log, privacy, roster, webhooks

app_name = "api"

v1 = [
    path("users", roster.UserListApi.as_view(), name="user-list"),
    path("users/<int:pk>", roster.UserDetailApi.as_view(), name="user-detail"),
    path("users/<int:pk>/export", privacy.UserExportApi.as_view(), name="user-export"),
    path("users/<int:pk>/erase", privacy.UserEraseApi.as_view(), name="user-erase"),
    path("analytics/enrollments", privacy.AnalyticsEnrollmentListApi.as_view(), name="analytics-enrollment-list"),
    path("analytics/at-risk", analytics_risk.AtRiskListApi.as_view(), name="analytics-at-risk-list"),
    path("courses", roster.CourseListApi.as_view(), name="course-list"),
    path("courses/<int:pk>", roster.CourseDetailApi.as_view(), name="course-detail"),
    path("enrollments", roster.EnrollmentListApi.as_view(), name="enrollment-list"),
    path("enrollments/<int:pk>", roster.EnrollmentDetailApi.as_view(), name="enrollment-detail"),
    path("quizzes", assessments.QuizListApi.as_view(), name="quiz-list"),
    path("quizzes/<int:pk>", assessments.QuizDetailApi.as_view(), name="quiz-detail"),
    path("decks", assessments.DeckListApi.as_view(), name="deck-list"),
    path("decks/<int:pk>", assessments.DeckDetailApi.as_view(), name="deck-detail"),
    path("attempts", assessments.AttemptListApi.as_view(), name="attempt-list"),
    path("attempts/<int:pk>", assessments.AttemptDetailApi.as_view(), name="attempt-detail"),
    path("scores", grading.ScoreListApi.as_view(), name="score-list"),
    path("scores/<int:pk>", grading.ScoreDetailApi.as_view(), name="score-detail"),
    path("review-items", grading.ReviewItemListApi.as_view(), name="review-item-list"),
    path("review-items/<int:pk>/decision", grading.ReviewDecisionApi.as_view(), name="review-item-decision"),
    path("dead-letters", grading.DeadLetterListApi.as_view(), name="dead-letter-list"),
    path("dead-letters/<int:pk>/replay", grading.DeadLetterReplayApi.as_view(), name="dead-letter-replay"),
    path("audit-events", log.AuditEventListApi.as_view(), name="audit-list"),
    path("events", log.DomainEventListApi.as_view(), name="event-list"),
    path("webhooks/subscriptions", webhooks.SubscriptionListApi.as_view(), name="webhook-subscription-list"),
    path(
        "webhooks/subscriptions/<int:pk>", webhooks.SubscriptionDetailApi.as_view(), name="webhook-subscription-detail"
    ),
    path("webhooks/deliveries", webhooks.DeliveryListApi.as_view(), name="webhook-delivery-list"),
    path("webhooks/deliveries/<int:pk>/replay", webhooks.DeliveryReplayApi.as_view(), name="webhook-delivery-replay"),
]


@csrf_exempt  # API clients hold no session; there is nothing to forge
def not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Unknown API paths (and malformed ids in them) answer JSON like every other API error."""
    detail = "No such API resource; see /api/docs/."
    return JsonResponse({"status": 404, "code": "not_found", "detail": detail}, status=404)


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
    re_path(r"^(?P<rest>.*)$", not_found),
]
