from django.urls import path

from . import retention_views, risk_views

urlpatterns: list = [
    path("risk/", risk_views.risk_list, name="risk"),
    path("risk/settings/", risk_views.risk_settings, name="risk_settings"),
    path("risk/check/", risk_views.risk_check, name="risk_check"),
    path("risk/learners/<int:user_id>/", risk_views.risk_learner, name="risk_learner"),
    path("retention/", retention_views.retention, name="retention"),
]
