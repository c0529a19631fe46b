from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class WebhooksConfig(AppConfig):
    name = "lms_tool.webhooks"
    label = "webhooks"
    verbose_name = gettext_lazy("Webhooks")  # the Django admin's heading
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from lms_tool.core import events

        from .tasks import publish

        if publish not in events.PUBLISHERS:
            events.PUBLISHERS.append(publish)
