from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class GradingConfig(AppConfig):
    name = "lms_tool.grading"
    label = "grading"
    verbose_name = gettext_lazy("Grading")  # the Django admin's heading
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from lms_tool.lti import hooks

        from .services import ags_endpoint_remember

        # Keep the launch's AGS endpoint (line items container, the link's line item) for passback.
        hooks.launch_recorded(lambda lti_launch: ags_endpoint_remember(launch=lti_launch))
