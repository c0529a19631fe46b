from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    """What instructors learn from their course: results, item analysis, learners who need help."""

    name = "lms_tool.analytics"
    label = "analytics"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from lms_tool.lti import course_home

        from . import risk_hooks
        from .panels import overview_panel

        # Above the lists of quizzes and decks: the figures and what needs attention first.
        course_home.register_home_panel(course_home.HomePanel(key="overview", render=overview_panel, order=10))
        risk_hooks.register()
