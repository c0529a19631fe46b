from django.contrib import admin
from django.urls import include, path

from lms_tool.core import views as core_views
from lms_tool.lti import views as lti_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path(".well-known/jwks.json", lti_views.jwks, name="well-known-jwks"),
    path("lti/", include("lms_tool.lti.urls")),
    path("grading/", include("lms_tool.grading.urls")),
    path("roster/", include("lms_tool.roster.urls")),
    path("quizzes/", include("lms_tool.quizzes.urls")),
    path("flashcards/", include("lms_tool.flashcards.urls")),
    path("webhooks/", include("lms_tool.webhooks.urls")),
    path("api/", include("lms_tool.api.urls")),
    path("admin/", admin.site.urls),
]
