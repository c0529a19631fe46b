from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class FlashcardsConfig(AppConfig):
    name = "lms_tool.flashcards"
    label = "flashcards"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = gettext_lazy("Flashcards")  # the Django admin's heading

    def ready(self) -> None:
        from . import deep_linking

        deep_linking.register()
