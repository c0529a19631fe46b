from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class XapiConfig(AppConfig):
    """Learning records: xAPI statements sent to each registration's Learning Record Store."""

    name = "lms_tool.xapi"
    label = "xapi"
    verbose_name = gettext_lazy("xAPI")  # the Django admin's heading
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from lms_tool.core import events
        from lms_tool.lti import hooks

        from . import services

        # In the transaction of the event or launch: the statement commits with what it records.
        if services.events_record not in events.RECORDERS:
            events.RECORDERS.append(services.events_record)
        hooks.launch_recorded(services.launch_record)
