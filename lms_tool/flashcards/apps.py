from django.apps import AppConfig


class FlashcardsConfig(AppConfig):
    name = "lms_tool.flashcards"
    label = "flashcards"
    default_auto_field = "django.db.models.BigAutoField"
