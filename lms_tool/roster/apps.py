from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class RosterConfig(AppConfig):
    name = "lms_tool.roster"
    label = "roster"
    verbose_name = gettext_lazy("Roster")  # the Django admin's heading
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from lms_tool.lti import course_home, hooks
        from lms_tool.lti.decorators import page_url

        from . import launch_hooks

        hooks.launch_check(launch_hooks.refuse_revoked_member)
        hooks.launch_recorded(launch_hooks.queue_first_sync)
        course_home.register_nav_link(
            course_home.NavLink(
                key="roster",
                label=gettext_lazy("Roster"),
                url=lambda launch: page_url("roster:roster", launch),
                order=30,
            )
        )
