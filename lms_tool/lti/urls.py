from django.urls import path

from . import views, views_registration, views_timezone

app_name = "lti"

urlpatterns = [
    path("login/", views.login, name="login"),
    path("launch/", views.launch, name="launch"),
    path("launch/complete/", views.launch_complete, name="launch_complete"),
    path("jwks/", views.jwks, name="jwks"),
    path("activity/", views.resource, name="resource"),
    path("course/", views.course_home, name="course_home"),
    path("deep-link/", views.deep_link, name="deep_link"),
    path("timezone/", views_timezone.timezone_report, name="timezone"),
    path("submission-review/", views.submission_review, name="submission_review"),
    path("register/", views_registration.register, name="register"),
    path("register/<str:invitation>/", views_registration.register, name="register_invited"),
    path("config/canvas.json", views_registration.canvas_json, name="canvas_json"),
    path("config/", views_registration.config_page, name="config"),
    path("config/moodle/", views_registration.config_page, name="config_moodle"),
]
