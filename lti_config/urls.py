from django.contrib import admin
from django.urls import include, path

from lms_tool.core import views as core_views
from lms_tool.core import views_ops
from lms_tool.lti import views as lti_views
from lms_tool.lti import views_registration as lti_registration_views

urlpatterns = [
    path("", lti_registration_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("healthz/detail", views_ops.health_detail, name="healthz-detail"),
    path("metrics", views_ops.metrics_view, name="metrics"),
    path(".well-known/jwks.json", lti_views.jwks, name="well-known-jwks"),
    path("lti/", include("lms_tool.lti.urls")),
    path("grading/", include("lms_tool.grading.urls")),
    path("roster/", include("lms_tool.roster.urls")),
    path("quizzes/", include("lms_tool.quizzes.urls")),
    path("flashcards/", include("lms_tool.flashcards.urls")),
    path("webhooks/", include("lms_tool.webhooks.urls")),
    path("analytics/", include("lms_tool.analytics.urls")),
    path("xapi/", include("lms_tool.xapi.urls")),
    path("api/", include("lms_tool.api.urls")),
    path("admin/", admin.site.urls),
]

# Error pages in words, JSON for JSON clients (lms_tool/lti/views_errors.py); never Django's class names.
handler400 = "lms_tool.lti.views_errors.bad_request"
handler403 = "lms_tool.lti.views_errors.permission_denied"
handler404 = "lms_tool.lti.views_errors.page_not_found"
# A database or cache outage answers 503 with Retry-After instead of the generic 500 (lms_tool/core/outages.py).
handler500 = "lms_tool.core.outages.server_error"
