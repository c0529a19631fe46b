from django.urls import path

from . import views

app_name = "lti"

urlpatterns = [
    path("login/", views.login, name="login"),
    path("launch/", views.launch, name="launch"),
    path("jwks/", views.jwks, name="jwks"),
    path("activity/", views.resource, name="resource"),
    path("deep-link/", views.deep_link, name="deep_link"),
    path("submission-review/", views.submission_review, name="submission_review"),
]
