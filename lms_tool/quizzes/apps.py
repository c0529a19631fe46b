from django.apps import AppConfig


class QuizzesConfig(AppConfig):
    name = "lms_tool.quizzes"
    label = "quizzes"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import picker

        picker.register()
