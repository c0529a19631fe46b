"""The refusal a revoked member sees."""

from __future__ import annotations

from lms_tool.core.errors import ToolError


class MembershipRevoked(ToolError):
    title = "Your access to this course has ended"
    code = "membership_revoked"
    status = 403

    def __init__(self) -> None:
        super().__init__(
            "Your enrolment in this course is no longer active, so this tool cannot be opened from it. "
            "If you think this is a mistake, contact your instructor.",
            admin_hint="The roster sync (Names and Roles) marked this membership inactive: the platform listed the "
            "member as Inactive or Deleted, or no longer listed them. If they are enrolled again, run "
            "'Sync now' on the roster page or in the admin (Roster syncs).",
        )
