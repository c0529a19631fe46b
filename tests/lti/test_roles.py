"""Which LTI role URIs make a launch staff or learner (LTI core appendix A.2)."""

from __future__ import annotations

import pytest

from lms_tool.lti.roles import is_learner, is_staff, short_names

CONTEXT = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
SUB = "http://purl.imsglobal.org/vocab/lis/v2/membership/"
INSTITUTION = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#"
SYSTEM = "http://purl.imsglobal.org/vocab/lis/v2/system/person#"


@pytest.mark.parametrize(
    "roles, names",
    [
        ([CONTEXT + "Instructor"], {"Instructor"}),
        ([CONTEXT + "Learner"], {"Learner"}),
        ([CONTEXT + "ContentDeveloper", CONTEXT + "Mentor"], {"ContentDeveloper", "Mentor"}),
        ([SUB + "Instructor#TeachingAssistant"], {"Instructor", "TeachingAssistant"}),
        ([SUB + "Instructor"], {"Instructor"}),
        ([INSTITUTION + "Administrator"], {"Administrator"}),
        ([SYSTEM + "SysAdmin"], {"Administrator"}),
        ([SYSTEM + "Administrator"], {"Administrator"}),
        (["Instructor", "Learner"], {"Instructor", "Learner"}),
        ([INSTITUTION + "Instructor", INSTITUTION + "Student", SYSTEM + "User"], set()),
        (["urn:lti:role:ims/lis/Instructor", "https://example.edu/roles#Instructor"], set()),
        ([], set()),
    ],
    ids=[
        "context-instructor",
        "context-learner",
        "several-context-roles",
        "sub-role-counts-as-principal-and-itself",
        "principal-without-sub-role",
        "institution-administrator",
        "system-sysadmin",
        "system-administrator",
        "simple-names",
        "institution-roles-are-not-course-roles",
        "foreign-vocabularies-ignored",
        "no-roles",
    ],
)
def test_short_names_reads_each_vocabulary(roles, names):
    assert short_names(roles) == names


def test_an_instructor_is_staff_and_not_a_learner():
    roles = [CONTEXT + "Instructor", INSTITUTION + "Faculty"]

    assert is_staff(roles)
    assert not is_learner(roles)


def test_a_learner_is_a_learner_and_not_staff():
    roles = [CONTEXT + "Learner", INSTITUTION + "Student"]

    assert is_learner(roles)
    assert not is_staff(roles)


def test_a_teaching_assistant_sub_role_alone_is_staff():
    assert is_staff([SUB + "Instructor#TeachingAssistant"])


@pytest.mark.parametrize("role", ["ContentDeveloper", "Administrator", "TeachingAssistant"])
def test_other_course_staff_roles_are_staff(role):
    assert is_staff([CONTEXT + role])


def test_an_institution_administrator_is_staff_in_any_course():
    assert is_staff([INSTITUTION + "Administrator", CONTEXT + "Learner"])


def test_a_student_who_teaches_elsewhere_is_only_a_learner_here():
    # Canvas sends the institution Instructor role to a teacher who is a student in this course.
    roles = [INSTITUTION + "Instructor", CONTEXT + "Learner"]

    assert is_learner(roles)
    assert not is_staff(roles)


def test_a_mentor_is_neither_staff_nor_learner():
    # Canvas observers (parents) launch as Mentor: they must not see the staff view of an activity.
    roles = [CONTEXT + "Mentor"]

    assert not is_staff(roles)
    assert not is_learner(roles)


def test_a_learner_sub_role_named_instructor_does_not_make_staff():
    # membership/Learner#Instructor is a kind of Learner (LIS v2); its sub-role name must not count
    # as the Instructor principal role.
    roles = [SUB + "Learner#Instructor"]

    assert short_names(roles) == {"Learner"}
    assert is_learner(roles)
    assert not is_staff(roles)


def test_a_learner_sub_role_is_a_learner():
    assert is_learner([SUB + "Learner#NonCreditLearner"])
    assert not is_staff([SUB + "Learner#GuestLearner"])


def test_an_observer_sub_role_of_manager_is_not_staff():
    assert not is_staff([SUB + "Manager#Observer"])
