from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "lms_tool.webhooks"
    label = "webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from lms_tool.core import events

        from .tasks import publish

        if publish not in events.PUBLISHERS:
            events.PUBLISHERS.append(publish)
