from django.apps import AppConfig


class FlashcardsConfig(AppConfig):
    name = "lms_tool.flashcards"
    label = "flashcards"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Flashcards"

    def ready(self) -> None:
        from . import deep_linking

        deep_linking.register()
