"""Scores read incrementally; review decisions and dead-letter replays go through the grading services."""

from __future__ import annotations

import pytest

from lms_tool.core.models import AuditEvent, DomainEvent
from lms_tool.grading import services as grading
from lms_tool.grading.models import PassbackState, ReviewState, Score
from lms_tool.lti.models import Context, Membership, ResourceLink

from .conftest import enrol, row_counts

pytestmark = pytest.mark.django_db
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"


def _link(context: Context) -> ResourceLink:
    link, _ = ResourceLink.objects.get_or_create(
        context=context, resource_link_id=f"rl-{context.context_id}", defaults={"title": "Quiz 1"}
    )
    return link


def _ai_score(context: Context, sub: str = "s1", confidence: float = 0.5) -> Score:
    learner = enrol(context, sub).user
    return grading.score_submit(
        user=learner, resource_link=_link(context), score_given=3, score_maximum=5, source="ai", confidence=confidence
    )


def _instructor(context: Context) -> Membership:
    membership = enrol(context, "teacher-1")
    membership.roles = [INSTRUCTOR]
    membership.save()
    return membership


def test_scores_carry_review_state_and_passback_status(make_api, bio, chem):  # type: ignore[no-untyped-def]
    score = _ai_score(bio)
    _ai_score(chem, "s2", confidence=0.99)
    rows = make_api(["scores:read"], contexts=[bio]).get("/api/v1/scores").json()["results"]
    assert [r["id"] for r in rows] == [score.pk]
    assert rows[0]["review_state"] == "needs_review"
    assert rows[0]["passback_state"] in {"pending", "held"}
    assert rows[0]["course"] == bio.pk and rows[0]["user_sub"] == "s1"


def test_review_items_list_what_waits_for_an_instructor(make_api, bio):  # type: ignore[no-untyped-def]
    waiting = _ai_score(bio, "s1", confidence=0.2)
    _ai_score(bio, "s2", confidence=0.95)
    rows = make_api(["reviews:read"]).get("/api/v1/review-items").json()["results"]
    assert [r["id"] for r in rows] == [waiting.pk]


def test_an_sis_confirms_or_overrides_a_grade_for_an_instructor_audited(make_api, bio):  # type: ignore[no-untyped-def]
    score = _ai_score(bio)
    teacher = _instructor(bio)
    api = make_api(["reviews:write"])
    response = api.post(
        f"/api/v1/review-items/{score.pk}/decision",
        {"reviewer": teacher.user_id, "score_given": 4.5, "comment": "fair"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["review_state"] == ReviewState.OVERRIDDEN
    assert response.json()["grading_progress"] == "FullyGraded"
    assert AuditEvent.objects.filter(action="review.decided", object_id=str(score.pk)).exists()
    assert AuditEvent.objects.get(action="review.decided_via_api").actor_id == api.api_client.client_id
    assert DomainEvent.objects.filter(type="review.completed", subject_id=str(score.pk)).exists()


def test_a_reviewer_who_is_not_staff_is_refused_and_nothing_is_written(make_api, bio):  # type: ignore[no-untyped-def]
    score = _ai_score(bio)
    learner = enrol(bio, "another-learner")
    api = make_api(["reviews:write"])
    before = row_counts()
    response = api.post(
        f"/api/v1/review-items/{score.pk}/decision", {"reviewer": learner.user_id, "score_given": 4}, format="json"
    )
    assert response.status_code == 403
    assert row_counts() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"score_given": 4}, "reviewer"),
        ({"reviewer": 1, "score_given": -1}, "score_given"),
        ({"reviewer": 1, "score_given": "lots"}, "score_given"),
        ({"reviewer": 999999, "score_given": 1}, "reviewer"),
    ],
)
def test_a_bad_decision_answers_400_per_field(make_api, bio, body, field):  # type: ignore[no-untyped-def]
    score = _ai_score(bio)
    api = make_api(["reviews:write"])
    before = row_counts()
    response = api.post(f"/api/v1/review-items/{score.pk}/decision", body, format="json")
    assert response.status_code == 400 and field in response.json()["errors"]
    assert row_counts() == before


def test_a_second_decision_is_409(make_api, bio):  # type: ignore[no-untyped-def]
    score = _ai_score(bio)
    teacher = _instructor(bio)
    api = make_api(["reviews:write"])
    body = {"reviewer": teacher.user_id, "score_given": 3}
    assert api.post(f"/api/v1/review-items/{score.pk}/decision", body, format="json").status_code == 200
    assert api.post(f"/api/v1/review-items/{score.pk}/decision", body, format="json").status_code == 409


def test_dead_letters_are_listed_and_replayed(make_api, bio):  # type: ignore[no-untyped-def]
    score = _ai_score(bio, confidence=0.99)
    Score.objects.filter(pk=score.pk).update(passback_state=PassbackState.DEAD, last_error="HTTP 500")
    api = make_api(["deadletters:read", "deadletters:write"])
    assert [r["id"] for r in api.get("/api/v1/dead-letters").json()["results"]] == [score.pk]
    response = api.post(f"/api/v1/dead-letters/{score.pk}/replay", HTTP_IDEMPOTENCY_KEY="replay-1")
    assert response.status_code == 202
    assert response.json()["passback_state"] == PassbackState.PENDING
    assert api.get("/api/v1/dead-letters").json()["results"] == []
    assert AuditEvent.objects.filter(action="score.replayed", object_id=str(score.pk)).count() == 1
    again = api.post(f"/api/v1/dead-letters/{score.pk}/replay", HTTP_IDEMPOTENCY_KEY="replay-1")
    assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
    assert AuditEvent.objects.filter(action="score.replayed", object_id=str(score.pk)).count() == 1


def test_replaying_a_score_that_is_not_dead_is_409_and_writes_nothing(make_api, bio):  # type: ignore[no-untyped-def]
    score = _ai_score(bio, confidence=0.99)
    api = make_api(["deadletters:write"])
    before = row_counts()
    assert api.post(f"/api/v1/dead-letters/{score.pk}/replay").status_code == 409
    assert row_counts() == before


def test_score_writes_need_their_scopes(make_api, bio):  # type: ignore[no-untyped-def]
    score = _ai_score(bio)
    api = make_api(["scores:read", "reviews:read", "deadletters:read"])
    assert api.post(f"/api/v1/review-items/{score.pk}/decision", {}, format="json").status_code == 403
    assert api.post(f"/api/v1/dead-letters/{score.pk}/replay").status_code == 403


def test_review_items_and_dead_letters_stay_inside_the_clients_reach(make_api, bio, chem):  # type: ignore[no-untyped-def]
    waiting = {bio.pk: _ai_score(bio, "s1", confidence=0.2), chem.pk: _ai_score(chem, "s2", confidence=0.2)}
    dead = {bio.pk: _ai_score(bio, "s3", confidence=0.99), chem.pk: _ai_score(chem, "s4", confidence=0.99)}
    Score.objects.filter(pk__in=[s.pk for s in dead.values()]).update(passback_state=PassbackState.DEAD)
    scopes = ["reviews:read", "deadletters:read"]

    def ids(api, path):  # type: ignore[no-untyped-def]
        return sorted(r["id"] for r in api.get(path).json()["results"])

    bio_only = make_api(scopes, contexts=[bio])
    assert ids(bio_only, "/api/v1/review-items") == [waiting[bio.pk].pk]
    assert ids(bio_only, "/api/v1/dead-letters") == [dead[bio.pk].pk]
    everywhere = make_api(scopes, all_contexts=True)
    assert ids(everywhere, "/api/v1/review-items") == sorted(s.pk for s in waiting.values())
    assert ids(everywhere, "/api/v1/dead-letters") == sorted(s.pk for s in dead.values())


def test_a_decision_whose_api_audit_line_fails_is_not_kept(make_api, bio, monkeypatch):  # type: ignore[no-untyped-def]
    # The decision, its audit lines and its event are one transaction: no grade changes unaudited.
    from lms_tool.grading import services as grading_services

    score = _ai_score(bio)
    teacher = _instructor(bio)
    api = make_api(["reviews:write"])
    real_audit = grading_services.audit_record

    def audit_failing_for_api(**kwargs):  # type: ignore[no-untyped-def]
        if kwargs["action"] == "review.decided_via_api":
            raise RuntimeError("audit log unavailable")
        return real_audit(**kwargs)

    monkeypatch.setattr(grading_services, "audit_record", audit_failing_for_api)
    with pytest.raises(RuntimeError):
        api.post(
            f"/api/v1/review-items/{score.pk}/decision",
            {"reviewer": teacher.user_id, "score_given": 4.5},
            format="json",
        )

    assert Score.objects.get(pk=score.pk).review_state == ReviewState.NEEDS_REVIEW
    assert not AuditEvent.objects.filter(action__startswith="review.").exists()
    assert not DomainEvent.objects.filter(type="review.completed").exists()


def test_a_replay_through_the_api_is_audited_as_the_api_clients(make_api, bio):  # type: ignore[no-untyped-def]
    score = _ai_score(bio, confidence=0.99)
    Score.objects.filter(pk=score.pk).update(passback_state=PassbackState.DEAD)
    api = make_api(["deadletters:write"])

    assert api.post(f"/api/v1/dead-letters/{score.pk}/replay").status_code == 202

    (line,) = AuditEvent.objects.filter(object_type="score", object_id=str(score.pk), action="score.replayed")
    assert (line.actor_type, line.actor_id) == ("api_client", api.api_client.client_id)
    assert line.source == "api"
