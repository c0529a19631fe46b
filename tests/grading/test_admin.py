"""The admin's dead-letter list shows the platform's answer, and replaying from it posts the score."""

from __future__ import annotations

from django.urls import reverse

from lms_tool.grading import services
from lms_tool.grading.models import Score
from lms_tool.sandbox.platform import LaunchSpec
from lms_tool.sandbox.services.ags import gradebook, line_item_add

from .conftest import drain, seat


def test_dead_letters_are_listed_with_the_platform_s_answer_and_can_be_replayed(canvas, course, student, admin_client):
    url = line_item_add(canvas, course, label="Quiz")
    learner = seat(canvas, LaunchSpec(student, course, lineitem_url=url))
    canvas.faults["ags_down"] = True
    dead = services.score_submit(user=learner.user, resource_link=learner.link, score_given=6, score_maximum=10)
    drain()
    canvas.faults["ags_down"] = 0

    listing = admin_client.get(reverse("admin:grading_deadletter_changelist"))
    detail = admin_client.get(reverse("admin:grading_deadletter_change", args=[dead.pk]))

    assert (
        listing.status_code == 200
        and reverse("admin:grading_deadletter_change", args=[dead.pk]) in listing.content.decode()
    )
    assert "gave up after 5 attempts" in listing.content.decode()
    assert "injected fault" in detail.content.decode()  # the platform's answer, as it came

    answer = admin_client.post(
        reverse("admin:grading_deadletter_changelist"), {"action": "replay", "_selected_action": [dead.pk]}, follow=True
    )
    assert "1 score(s) queued for posting again" in answer.content.decode()
    drain()
    assert Score.objects.get(pk=dead.pk).passback_state == "posted"
    assert gradebook(canvas).result(url, student.user_id)["resultScore"] == 6  # type: ignore[index]


def test_posted_scores_are_not_in_the_dead_letters(canvas, course, student, admin_client):
    learner = seat(canvas, LaunchSpec(student, course))
    posted = services.score_submit(user=learner.user, resource_link=learner.link, score_given=6, score_maximum=10)
    drain()

    listing = admin_client.get(reverse("admin:grading_deadletter_changelist"))

    assert reverse("admin:grading_deadletter_change", args=[posted.pk]) not in listing.content.decode()
    assert admin_client.get(reverse("admin:grading_score_changelist")).status_code == 200
