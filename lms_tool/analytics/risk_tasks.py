"""Celery tasks of "Learners who need help": ids in, load, call the service (imported by tasks.py)."""

from __future__ import annotations

from celery import shared_task

from lms_tool.lti.models import Context

from . import risk_services


@shared_task(name="analytics.risk_refresh")
def risk_refresh_task() -> int:
    return risk_services.risk_refresh_all()


@shared_task(name="analytics.risk_refresh_course")
def risk_refresh_course_task(context_pk: int) -> str:
    context = Context.objects.filter(pk=context_pk, registration__is_active=True).first()
    if context is None:
        return "gone"
    done = risk_services.course_risk_refresh(context=context)
    return f"{done.at_risk} of {done.learners} at risk"
