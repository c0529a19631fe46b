"""Export and erasure are bound by the API client's reach: only the person's records in its courses."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.utils import timezone

from lms_tool.core.events import event_record
from lms_tool.core.models import AuditEvent
from lms_tool.core.services import audit_record
from lms_tool.flashcards.models import LearnerParameters
from lms_tool.grading import services as grading
from lms_tool.grading.models import Score
from lms_tool.lti.models import Context, LtiUser, Membership, ResourceLink
from lms_tool.privacy import services
from lms_tool.quizzes.models import Attempt, Quiz
from tests.api.conftest import enrol, row_counts

pytestmark = pytest.mark.django_db


def _records_in(context: Context, user: LtiUser) -> dict[str, Any]:
    """An enrollment (with its audit line and event), a submitted attempt and a score in ``context``."""
    membership = Membership.objects.get(context=context, user=user)
    audit_record(actor_type="platform", action="enrollment.added", object_type="membership", object_id=membership.pk)
    event_record(
        type="enrollment.added", subject_type="membership", subject_id=membership.pk, data={}, context_pk=context.pk
    )
    quiz = Quiz.objects.create(context=context, title=f"Quiz of {context.context_id}")
    attempt = Attempt.objects.create(
        quiz=quiz, user=user, number=1, quiz_version=1, state="submitted", submitted_at=timezone.now()
    )
    link = ResourceLink.objects.create(context=context, resource_link_id=f"rl-{context.context_id}", title="Quiz")
    score = grading.score_submit(user=user, resource_link=link, score_given=3, score_maximum=5)
    return {"membership": membership.pk, "attempt": attempt.pk, "score": score.pk}


@pytest.fixture
def person(bio: Context, chem: Context) -> dict[str, Any]:
    """Sam, enrolled in course A (bio) and course B (chem), with FSRS parameters of their own."""
    enrol(bio, "sam", name="Sam Student", email="sam@example.edu")
    enrol(chem, "sam")
    user = LtiUser.objects.get(sub="sam")
    LearnerParameters.objects.create(learner=user, parameters=[0.4] * 21, review_count=10, optimized_at=timezone.now())
    return {"user": user, "a": _records_in(bio, user), "b": _records_in(chem, user)}


def _ids(export: dict[str, Any], label: str) -> list[int]:
    return [row["id"] for row in export["records"].get(label, [])]


def test_a_client_reaching_only_course_b_cannot_export_or_erase_rows_in_course_a(make_api, chem, person):  # type: ignore[no-untyped-def]
    user, a, b = person["user"], person["a"], person["b"]
    api = make_api(["privacy:export", "privacy:erase"], contexts=[chem], all_contexts=False)

    export = api.get(f"/api/v1/users/{user.pk}/export").json()
    assert export["limited_to_reach"] is True
    assert _ids(export, "lti.Membership") == [b["membership"]]
    assert _ids(export, "quizzes.Attempt") == [b["attempt"]]
    assert _ids(export, "grading.Score") == [b["score"]]
    assert "flashcards.LearnerParameters" not in export["records"]  # the person's own, not course B's
    assert {line["object_id"] for line in export["audit_log"]} == {str(b["membership"])}
    assert {event["subject_id"] for event in export["events"]} == {str(b["membership"])}

    # Anonymising would blank the name course A still shows: refused, and nothing written.
    before = row_counts()
    refused = api.post(f"/api/v1/users/{user.pk}/erase", {"mode": "anonymise"}, format="json")
    assert refused.status_code == 409 and "outside this API client's reach" in refused.json()["detail"]
    assert row_counts() == before
    assert LtiUser.objects.get(pk=user.pk).name == "Sam Student"

    erased = api.post(f"/api/v1/users/{user.pk}/erase", {"mode": "delete"}, format="json")
    assert erased.status_code == 200
    assert erased.json()["person"] == "kept"
    assert erased.json()["related_rows"]["lti.Membership"] == 1
    assert list(Membership.objects.filter(user=user).values_list("pk", flat=True)) == [a["membership"]]
    assert list(Attempt.objects.filter(user=user).values_list("pk", flat=True)) == [a["attempt"]]
    assert list(Score.objects.filter(user=user).values_list("pk", flat=True)) == [a["score"]]
    kept = LtiUser.objects.get(pk=user.pk)
    assert (kept.name, kept.email) == ("Sam Student", "sam@example.edu")
    assert LearnerParameters.objects.filter(learner=user).exists()
    line = AuditEvent.objects.get(action="person.erased")
    assert line.actor_id == api.api_client.client_id and line.after["limited_to_reach"] is True


def test_a_client_reaching_all_the_persons_courses_erases_the_person_too(make_api, bio, chem, person):  # type: ignore[no-untyped-def]
    user = person["user"]
    api = make_api(["privacy:export", "privacy:erase"], contexts=[bio, chem], all_contexts=False)
    export = api.get(f"/api/v1/users/{user.pk}/export").json()
    assert len(_ids(export, "lti.Membership")) == 2 and "flashcards.LearnerParameters" in export["records"]

    anonymised = api.post(f"/api/v1/users/{user.pk}/erase", {"mode": "anonymise"}, format="json")
    assert anonymised.status_code == 200 and anonymised.json()["person"] == "anonymised"
    assert LtiUser.objects.get(pk=user.pk).name == ""

    deleted = api.post(f"/api/v1/users/{user.pk}/erase", {"mode": "delete"}, format="json")
    assert deleted.json()["person"] == "deleted"
    assert not LtiUser.objects.filter(pk=user.pk).exists()
    assert not LearnerParameters.objects.exists() and not Score.objects.exists()


def test_every_record_that_points_at_a_person_is_placed_in_a_course_or_with_the_person(person, chem):  # type: ignore[no-untyped-def]
    labels = {field.model._meta.label for field in services.relations()}
    assert labels - set(services.COURSE_OF) - services.PERSONAL == set()
    # Every course path is a real lookup: a wrong one would fail here, not in an erasure.
    limited = services._related(person["user"], Context.objects.filter(pk=chem.pk), whole=False)
    assert set(limited) >= {"lti.Membership", "quizzes.Attempt", "grading.Score", "grading.ScoreSlot"}
    for label, path in services.COURSE_OF.items():
        apps.get_model(label)._base_manager.filter(**{f"{path}__in": [chem.pk]}).exists()  # FieldError if wrong
