"""LTI roles map to what members may do in the tool (LTI core appendix A.2)."""

from __future__ import annotations

from lms_tool.roster.roles import permissions, role_label, role_names

M = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
SUB = "http://purl.imsglobal.org/vocab/lis/v2/membership/"
INST = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#"


def test_principal_roles_map_to_permissions():
    assert permissions([M + "Instructor"]) == {"manage", "grade", "view_roster"}
    assert permissions([M + "Learner"]) == {"learn"}
    assert permissions([M + "ContentDeveloper"]) == {"manage"}
    assert permissions([M + "Administrator"]) == {"manage", "grade", "view_roster"}


def test_a_teaching_assistant_sub_role_grades_but_does_not_manage():
    assert permissions([SUB + "Instructor#TeachingAssistant"]) == {"grade", "view_roster"}
    assert role_label([SUB + "Instructor#TeachingAssistant"]) == "Teaching assistant"


def test_an_unknown_sub_role_counts_as_its_principal():
    assert role_names([SUB + "Learner#ExternalLearner"]) == {"Learner"}
    assert role_names([SUB + "Administrator#Support"]) == {"Administrator"}


def test_simple_names_from_older_platforms_are_understood():
    assert role_names(["Instructor", "Learner"]) == {"Instructor", "Learner"}


def test_institution_roles_are_not_course_roles():
    assert role_names([INST + "Administrator", INST + "Student"]) == set()
    assert role_label([INST + "Student"]) == "No course role"
