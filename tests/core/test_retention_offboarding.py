"""`manage.py retention_purge` and `manage.py tenant_offboard`: rows counted before and after, audit lines."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from lms_tool.core.models import AuditEvent, DomainEvent
from lms_tool.flashcards.models import Card, Deck, ReviewLog
from lms_tool.grading import services as grading
from lms_tool.grading.models import Score
from lms_tool.lti.models import Context, LtiUser, Registration
from lms_tool.quizzes.models import Accommodation, Answer, Attempt, AttemptQuestion, Question, Quiz
from lms_tool.webhooks.models import Delivery, Subscription

from ..quizzes.factories import make_course, make_quiz

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _offline(settings):  # type: ignore[no-untyped-def]
    settings.AI = {"BASE_URL": "", "MODEL": ""}
    settings.GRADING_PASSBACK_ENABLED = False
    settings.RETENTION_DAYS = 365


def _school(suffix: str = "", *, age_days: int = 0):  # type: ignore[no-untyped-def]
    """A course with a submitted attempt (answers), a deck with a review, a delivered webhook: all ``age_days`` old."""
    course = make_course(suffix=suffix)
    quiz = make_quiz(course, count=2)
    when = timezone.now() - timedelta(days=age_days)
    attempt = Attempt.objects.create(
        quiz=quiz, user=course.student, number=1, quiz_version=1, state="submitted", submitted_at=when
    )
    for position, question in enumerate(Question.objects.filter(quiz=quiz), start=1):
        Answer.objects.create(attempt=attempt, question=question, response=[0])
        # The draw protects its questions (PROTECT): offboarding must still delete the course.
        AttemptQuestion.objects.create(attempt=attempt, question=question, position=position)
    Accommodation.objects.create(context=course.context, user=course.student, extra_minutes=10)
    deck = Deck.objects.create(context=course.context, title="Heart")
    card = Card.objects.create(deck=deck, front="Q?", back="A", position=1)
    ReviewLog.objects.create(
        learner=course.student,
        card=card,
        deck=deck,
        rating=3,
        reviewed_at=when,
        state_after=2,
        stability_after=3.0,
        difficulty_after=5.0,
        due_after=when,
    )
    grading.score_submit(user=course.student, resource_link=course.link, score_given=1, score_maximum=2)
    event = DomainEvent.objects.create(
        type="score.posted", subject_type="score", subject_id="1", data={}, context_pk=course.context.pk
    )
    subscription = Subscription.objects.create(name="SIS", url="https://sis.example.edu/hook", secret_encrypted="x")
    delivery = Delivery.objects.create(subscription=subscription, event=event, state="delivered")
    Delivery.objects.filter(pk=delivery.pk).update(created_at=when)
    return course


def _counts(registration: Registration) -> tuple[int, int, int, int]:
    return (
        Answer.objects.filter(attempt__quiz__context__registration=registration).count(),
        ReviewLog.objects.filter(deck__context__registration=registration).count(),
        Delivery.objects.filter(event__context_pk__in=registration.contexts.values("pk")).count(),
        Attempt.objects.filter(quiz__context__registration=registration).count(),
    )


def test_retention_purge_deletes_only_what_is_past_each_registration_s_period():
    old = _school("-old", age_days=400)
    recent = _school("-recent", age_days=30)
    strict = _school("-strict", age_days=30)
    Registration.objects.filter(pk=strict.registration.pk).update(retention_days=7)
    before = {c.registration.pk: _counts(c.registration) for c in (old, recent, strict)}
    assert before[old.registration.pk] == (2, 1, 1, 1)

    dry = StringIO()
    call_command("retention_purge", "--dry-run", stdout=dry)
    assert {c.registration.pk: _counts(c.registration) for c in (old, recent, strict)} == before
    assert f"registration {old.registration.pk} (kept 365 days" in dry.getvalue()
    assert not AuditEvent.objects.filter(action="retention.purged").exists()

    call_command("retention_purge", stdout=StringIO())

    assert _counts(old.registration) == (0, 0, 0, 1)  # the attempt (and its score) stay
    assert _counts(recent.registration) == before[recent.registration.pk]
    assert _counts(strict.registration) == (0, 0, 0, 1)
    lines = {e.object_id: e.after for e in AuditEvent.objects.filter(action="retention.purged")}
    assert set(lines) == {str(old.registration.pk), str(strict.registration.pk)}
    assert lines[str(old.registration.pk)]["answers"] == 2 and lines[str(strict.registration.pk)]["retention_days"] == 7


def test_offboarding_exports_every_row_then_deletes_only_that_registration(tmp_path):
    leaving = _school("-leaving")
    staying = _school("-staying")
    kept = _counts(staying.registration)
    export = tmp_path / "export"

    call_command(
        "tenant_offboard", "--registration", str(leaving.registration.pk), "--export", str(export), stdout=StringIO()
    )

    assert Registration.objects.filter(pk=leaving.registration.pk).exists()  # export alone deletes nothing
    people = json.loads((export / "lti.LtiUser.json").read_text())
    assert sorted(p["fields"]["name"] for p in people) == ["Ada", "Sam"]  # decrypted for the school
    manifest = json.loads((export / "manifest.json").read_text())
    assert manifest["rows"]["quizzes.Answer"] == 2 and manifest["rows"]["webhooks.Delivery"] == 1
    assert manifest["rows"]["quizzes.AttemptQuestion"] == 2 and manifest["rows"]["quizzes.Accommodation"] == 1

    call_command(
        "tenant_offboard",
        "--registration",
        str(leaving.registration.pk),
        "--export",
        str(tmp_path / "again"),
        "--delete",
        stdout=StringIO(),
    )

    gone = leaving.registration.pk
    assert not Registration.objects.filter(pk=gone).exists()
    assert not Context.objects.filter(registration_id=gone).exists()
    assert not LtiUser.objects.filter(registration_id=gone).exists()
    assert not Quiz.objects.filter(context__registration_id=gone).exists()
    assert not Score.objects.filter(user__registration_id=gone).exists()
    assert not DomainEvent.objects.filter(context_pk=leaving.context.pk).exists()
    assert _counts(staying.registration) == kept
    actions = list(AuditEvent.objects.filter(object_id=str(gone)).values_list("action", flat=True).order_by("id"))
    assert actions[-3:] == ["tenant.exported", "tenant.exported", "tenant.deleted"]


def test_offboarding_refuses_to_delete_without_an_export():
    school = _school()

    with pytest.raises(CommandError, match="--export"):
        call_command("tenant_offboard", "--registration", str(school.registration.pk), "--delete")

    assert Registration.objects.filter(pk=school.registration.pk).exists()
    assert not AuditEvent.objects.filter(action__startswith="tenant.").exists()


def test_offboarding_refuses_an_unknown_registration_or_a_used_directory(tmp_path):
    school = _school()
    (tmp_path / "old.json").write_text("{}")

    with pytest.raises(CommandError, match="no registration 999999"):
        call_command("tenant_offboard", "--registration", "999999", "--export", str(tmp_path / "new"))
    with pytest.raises(CommandError, match="not empty"):
        call_command("tenant_offboard", "--registration", str(school.registration.pk), "--export", str(tmp_path))

    assert not AuditEvent.objects.filter(action__startswith="tenant.").exists()
    assert not (tmp_path / "new").exists()
