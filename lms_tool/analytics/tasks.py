"""Celery discovers an app's tasks here; each part of the analytics app keeps its own tasks module."""

from .risk_tasks import risk_refresh_course_task, risk_refresh_task

__all__ = ["risk_refresh_course_task", "risk_refresh_task"]
