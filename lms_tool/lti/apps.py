from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class LtiConfig(AppConfig):
    name = "lms_tool.lti"
    label = "lti"
    verbose_name = gettext_lazy("LTI")  # the Django admin's heading
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from .models import Deployment, Registration

        # A saved or deleted registration or deployment: every process reads them again at its next launch.
        for model in (Registration, Deployment):
            post_save.connect(_registry_changed, sender=model, dispatch_uid=f"registry_memo_{model.__name__}_save")
            post_delete.connect(_registry_changed, sender=model, dispatch_uid=f"registry_memo_{model.__name__}_delete")


def _registry_changed(**kwargs: object) -> None:
    from . import registry_memo

    registry_memo.version_bump()
