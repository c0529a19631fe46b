"""A launch from an independent platform lands each person where they belong."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs, urlparse

from lms_tool.lti import services
from lms_tool.lti.models import Context, Deployment, LtiUser, Membership, ResourceLink
from lms_tool.sandbox.platform import LaunchSpec

from ..conftest import registration_of
from .flow import error_code, launch


def test_it_lands_a_student_on_the_activity(platform, course, student):
    response = launch(platform, LaunchSpec(student, course, resource_link_title="Week 1 quiz"))

    assert response.status_code == 200, response.text
    assert "/lti/activity/" in response.url
    assert 'data-view="learner"' in response.text
    assert "Week 1 quiz" in response.text


def test_it_lands_an_instructor_in_the_staff_view(platform, course, instructor):
    response = launch(platform, LaunchSpec(instructor, course))

    assert response.status_code == 200, response.text
    assert 'data-view="instructor"' in response.text


def test_it_records_context_user_membership_and_link(platform, course, student):
    launch(platform, LaunchSpec(student, course, resource_link_id="rl-42", custom={"quiz": "7"}))

    registration = registration_of(platform)
    user = LtiUser.objects.get(registration=registration, sub="student-1")
    assert user.name == "Sam Student"
    context = Context.objects.get(registration=registration, context_id="course-101")
    assert context.title == "Biology 101"
    assert context.nrps_url.endswith("/courses/course-101/memberships")
    membership = Membership.objects.get(context=context, user=user)
    assert membership.is_active and membership.last_launch_at is not None
    assert membership.roles == student.roles
    link = ResourceLink.objects.get(context=context, resource_link_id="rl-42")
    assert link.custom == {"quiz": "7"}


def test_it_detects_the_platform_family_from_the_launch(platform, course, student):
    launch(platform, LaunchSpec(student, course))

    assert registration_of(platform).family == platform.family


def test_it_sends_deep_linking_to_the_picker(platform, course, instructor):
    response = launch(platform, LaunchSpec(instructor, course, message_type="LtiDeepLinkingRequest"))

    assert response.status_code == 200, response.text
    assert 'data-view="pick"' in response.text


def test_it_refuses_deep_linking_for_a_learner(platform, course, student):
    response = launch(platform, LaunchSpec(student, course, message_type="LtiDeepLinkingRequest"))

    assert response.status_code == 403
    assert "not available with your role" in response.text


def test_it_sends_submission_review_to_the_grader_view(canvas, course, instructor, student):
    lineitem = f"{canvas.base_url}/courses/course-101/lineitems/1"
    spec = LaunchSpec(
        instructor, course, message_type="LtiSubmissionReviewRequest", for_user=student, lineitem_url=lineitem
    )

    response = launch(canvas, spec)

    # It reaches the grader view, which finds no activity of the course for this learner (a review of one with
    # work: tests/lti/test_submission_review.py).
    assert response.status_code == 404, response.text
    assert "/lti/submission-review/" in response.url and error_code(response) == "submission_missing"


def test_a_new_deployment_is_accepted_by_default(canvas, platform_server, student):
    course = canvas.add_course("course-202", deployment_id="deployment-new")
    canvas.enrol(course, student)

    response = launch(canvas, LaunchSpec(student, course))

    assert response.status_code == 200, response.text
    assert Deployment.objects.filter(deployment_id="deployment-new").exists()


def _raw_cache_entries() -> list[tuple[str, bytes]]:
    """Every (key, stored bytes) in the shared cache, read past Django's cache API (Redis or the table)."""
    from django.core.cache import cache
    from django.db import connection

    backend = cache._cache if hasattr(cache, "_cache") else None  # Redis
    if backend is not None:
        client = backend.get_client()
        return [(key.decode(), client.get(key) or b"") for key in client.scan_iter(match=cache.make_key("*"))]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT cache_key, value FROM {cache._table}")  # type: ignore[attr-defined]
        return [(key, base64.b64decode(value)) for key, value in cursor.fetchall()]


def test_the_kept_launch_shows_no_names_emails_or_launch_id_to_a_reader_of_the_cache(platform, course, student):
    response = launch(platform, LaunchSpec(student, course))
    launch_id = parse_qs(urlparse(response.url).query)["launch"][0]
    entries = _raw_cache_entries()

    assert [key for key, _ in entries if ":lti:launch:" in key]  # it is kept ...
    for key, value in entries:  # ... but sealed, under a name that is not the bearer id
        assert launch_id not in key
        for secret in (student.email, student.name, student.family_name, launch_id):
            assert secret.encode() not in value, f"{secret!r} readable in cache entry {key}"
    kept = services.launch_get(launch_id=launch_id)
    assert kept is not None and kept.claims["email"] == student.email  # the launch id opens it
    assert services.launch_get(launch_id=launch_id[:-1] + "x") is None


def _kept(response) -> Any:
    kept = services.launch_get(launch_id=parse_qs(urlparse(response.url).query)["launch"][0])
    assert kept is not None
    return kept


def test_a_repeat_launch_finds_what_it_recorded_and_rewrites_nothing(platform, course, student):
    first = _kept(launch(platform, LaunchSpec(student, course, resource_link_id="rl-1")))
    rows = [LtiUser.objects.get(), Context.objects.get(), Membership.objects.get(), ResourceLink.objects.get()]

    again = _kept(launch(platform, LaunchSpec(student, course, resource_link_id="rl-1")))

    assert again.launch_id != first.launch_id
    assert (again.user_pk, again.context_pk, again.membership_pk, again.resource_link_pk) == (
        first.user_pk,
        first.context_pk,
        first.membership_pk,
        first.resource_link_pk,
    )
    assert [type(r).objects.get(pk=r.pk).updated_at for r in rows] == [r.updated_at for r in rows]


def test_a_repeat_launch_with_changed_claims_records_the_change(platform, course, student):
    launch(platform, LaunchSpec(student, course, resource_link_id="rl-1"))
    student.name = "Samantha Student"
    course.title = "Biology 101 (spring)"

    launch(platform, LaunchSpec(student, course, resource_link_id="rl-1", resource_link_title="Week 2"))

    assert LtiUser.objects.get(sub="student-1").name == "Samantha Student"
    assert Context.objects.get().title == "Biology 101 (spring)"
    assert ResourceLink.objects.get().title == "Week 2"


def test_a_repeat_launch_after_the_person_was_erased_records_them_again(platform, course, student):
    first = _kept(launch(platform, LaunchSpec(student, course)))
    LtiUser.objects.filter(pk=first.user_pk).delete()  # as a privacy erasure does; memberships go with it

    again = _kept(launch(platform, LaunchSpec(student, course)))

    membership = Membership.objects.get(pk=again.membership_pk)
    assert membership.user_id == again.user_pk != first.user_pk
    assert membership.is_active
