from django.apps import AppConfig


class LauncherConfig(AppConfig):
    """`make run`'s launcher: sits above everything it starts (the tool, its worker, the sandbox)."""

    name = "lms_tool.launcher"
    label = "launcher"
