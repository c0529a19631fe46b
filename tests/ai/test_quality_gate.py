"""The quality gate refuses what a teacher would delete, for model output and the offline provider alike."""

from __future__ import annotations

import pytest

from lms_tool.ai.quality import CHECK_LABELS, Gate

from .flawed import card, corpus_text, flawed_entries, question

ENTRIES = flawed_entries()


def test_the_flawed_set_holds_every_flaw_the_gate_names():
    assert {e["flaw"] for e in ENTRIES} == set(CHECK_LABELS)


@pytest.mark.parametrize("entry", ENTRIES, ids=[f"{e['flaw']}-{i}" for i, e in enumerate(ENTRIES)])
def test_the_gate_refuses_each_hand_labelled_flawed_item_for_its_flaw(entry):
    gate = Gate.of(corpus_text(entry["source"]))
    for earlier in entry.get("after", []):
        assert gate.question(question(earlier)) is None, "the first of two near-duplicates is offered"
    for earlier in entry.get("after_cards", []):
        assert gate.card(card(earlier)) is None, "the first of two near-duplicates is offered"

    refusal = gate.question(question(entry["question"])) if "question" in entry else gate.card(card(entry["card"]))

    assert refusal is not None, entry["why"]
    assert refusal.check == entry["flaw"], (refusal, entry["why"])
