"""The Celery application; configuration comes from Django settings (``CELERY_*``)."""

import os
from typing import Any

from celery import Celery
from celery.signals import beat_init, celeryd_init
from django.core.exceptions import ImproperlyConfigured

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lti_config.settings")

app = Celery("lms_tool")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# This module is imported by every Django process (lti_config/__init__.py), so the start-up check runs
# only when a worker or beat really starts. Celery logs and ignores exceptions raised by signal handlers;
# SystemExit is not caught, so the process stops with the message.
@celeryd_init.connect
@beat_init.connect
def _keys_required(**_: Any) -> None:
    from lti_config.startup import keys_required

    try:
        keys_required()
    except ImproperlyConfigured as exc:
        raise SystemExit(str(exc)) from None
