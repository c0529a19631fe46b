from django.apps import AppConfig


class QuizzesConfig(AppConfig):
    name = "lms_tool.quizzes"
    label = "quizzes"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from lms_tool.lti.deep_linking import register_activity_source

        from .picker import quiz_items, quiz_locate, quiz_open_url

        register_activity_source("quiz", "Quizzes", quiz_items, quiz_open_url, quiz_locate)
