"""Ratings the review page kept in the browser: sent after the launch ended (JSON, in words), replayed once."""

from __future__ import annotations

import pytest
import requests
from django.core.cache import cache

from lms_tool.flashcards.models import CardState, ReviewLog
from lms_tool.lti import services as lti_services
from lms_tool.sandbox.platform import LaunchSpec

from .conftest import enter, field
from .factories import CardFactory, DeckFactory

REVIEW = "/flashcards/decks/{}/review/"
RATE = "/flashcards/decks/{}/review/rate"


@pytest.fixture
def deck_and_learner(canvas, course, student, tool_url):  # type: ignore[no-untyped-def]
    sam = enter(canvas, LaunchSpec(student, course), tool_url)
    deck = DeckFactory(context=sam.context, title="Cells")
    for front in ("What is ATP?", "What is a ribosome?"):
        CardFactory(deck=deck, front=front, back="answer")
    return deck, sam


def rate(tool_url: str, deck_pk: int, launch_id: str, **form: str) -> requests.Response:
    return requests.post(
        f"{tool_url}{RATE.format(deck_pk)}", data=form, headers={"X-LTI-Launch": launch_id}, timeout=10
    )


def test_it_answers_a_rating_after_the_launch_ended_with_json_and_records_nothing(deck_and_learner, tool_url):
    deck, sam = deck_and_learner
    token = field(sam.get(REVIEW.format(deck.pk)).text, "token")
    cache.delete(lti_services._launch_keys(sam.launch_id)[0])

    rated = rate(tool_url, deck.pk, sam.launch_id, token=token, rating="3", client_id="c0ffee-1")

    assert rated.status_code == 401 and rated.json()["code"] == "launch_expired"
    assert "open the tool again" in rated.json()["message"]
    assert ReviewLog.objects.count() == 0 and CardState.objects.count() == 0


def test_a_kept_rating_sent_again_with_its_id_counts_once(deck_and_learner, tool_url):
    deck, sam = deck_and_learner
    token = field(sam.get(REVIEW.format(deck.pk)).text, "token")

    first = rate(tool_url, deck.pk, sam.launch_id, token=token, rating="3", client_id="c0ffee-2")
    replay = rate(tool_url, deck.pk, sam.launch_id, token=token, rating="3", client_id="c0ffee-2")
    other = rate(tool_url, deck.pk, sam.launch_id, token=token, rating="1", client_id="c0ffee-3")

    assert first.status_code == 200 and first.json()["ok"] is True
    assert replay.status_code == 200 and replay.json()["due"] == first.json()["due"]
    assert other.status_code == 409 and other.json()["code"] == "already_rated"
    assert list(ReviewLog.objects.values_list("rating", "client_id")) == [(3, "c0ffee-2")]
    assert CardState.objects.get(learner=sam.user).reps == 1


def test_it_refuses_a_rating_id_that_is_not_one(deck_and_learner, tool_url):
    deck, sam = deck_and_learner
    token = field(sam.get(REVIEW.format(deck.pk)).text, "token")

    refused = rate(tool_url, deck.pk, sam.launch_id, token=token, rating="3", client_id="<script>")

    assert refused.status_code == 400 and refused.json()["code"] == "bad_client_id"
    assert ReviewLog.objects.count() == 0 and CardState.objects.count() == 0
