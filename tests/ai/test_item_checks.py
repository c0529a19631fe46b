"""The bench's independent checks (tests/ai/item_checks.py) catch each hand-labelled flaw and pass good items."""

from __future__ import annotations

import pytest

from .flawed import card, corpus_text, flawed_entries, question
from .item_checks import CHECKS, FLAW_OF_CHECK, checks_run, item_of_card, item_of_question

ENTRIES = flawed_entries()
CHECK_OF_FLAW = {flaw: check for check, flaw in FLAW_OF_CHECK.items()}

# Items a teacher keeps as they are, one or more per question type and cards, from the corpus.
GOOD = [
    (
        "cell_biology.md",
        question(
            {
                "type": "single",
                "question": "Which word or phrase completes this statement from the text? "
                "\u201cIn eukaryotic cells the genetic material is kept inside the _____.\u201d",
                "options": ["nucleus", "nucleoid", "cytoskeleton", "vacuole"],
                "answer_index": 0,
            }
        ),
    ),
    (
        "french_revolution.md",
        question(
            {
                "type": "numeric",
                "question": "What number belongs in the blank? \u201cLouis XVI was executed in January _____.\u201d",
                "answer": 1793,
            }
        ),
    ),
    (
        "planets.pdf",
        question(
            {
                "type": "true_false",
                "question": "True or false? According to the table \u201cMoons and surface temperature\u201d, the value "
                "in the \u201cKnown moons\u201d column for Mars is 95.",
                "answer": False,
            }
        ),
    ),
    (
        "planets.pdf",
        question(
            {
                "type": "numeric",
                "question": "According to the table \u201cSize and orbit of the planets\u201d, what is the value in the "
                "\u201cOrbital period (days)\u201d column for Mars?",
                "answer": 687,
            }
        ),
    ),
    (
        "electricity.md",
        question(
            {
                "type": "free_text",
                "question": "Explain why copper is used for household wiring.",
                "answer": "Copper is used for household wiring because it conducts well and is much cheaper than silver.",
            }
        ),
    ),
    (
        "immune_system.md",
        question(
            {
                "type": "multiple",
                "question": "Which of these statements does the text make? Select all that apply.",
                "options": [
                    "Edward Jenner developed the first vaccine, against smallpox, in 1812.",
                    "An allergy is an overreaction to a harmless substance such as pollen.",
                    "Stomach acid destroys many microbes that are swallowed.",
                    "An allergy is an overreaction to a harmless substance such as smallpox.",
                ],
                "answer_indices": [1, 2],
            }
        ),
    ),
    (
        "cell_biology.md",
        card(
            {
                "front": "What are ribosomes?",
                "back": "Ribosomes are the sites of protein synthesis.",
                "tags": ["ribosomes"],
            }
        ),
    ),
]


@pytest.mark.parametrize("entry", ENTRIES, ids=[f"{e['flaw']}-{i}" for i, e in enumerate(ENTRIES)])
def test_each_flawed_item_fails_the_check_of_its_flaw(entry):
    text = corpus_text(entry["source"])
    earlier = [item_of_question(question(r)) for r in entry.get("after", [])]
    earlier += [item_of_card(card(r)) for r in entry.get("after_cards", [])]
    item = item_of_question(question(entry["question"])) if "question" in entry else item_of_card(card(entry["card"]))

    results = checks_run([*earlier, item], text)

    assert all(all(r.values()) for r in results[:-1]), "the first of two near-duplicates passes"
    assert results[-1][CHECK_OF_FLAW[entry["flaw"]]] is False, entry["why"]


def test_good_items_pass_every_check():
    for name, draft in GOOD:
        item = item_of_question(draft) if hasattr(draft, "type") else item_of_card(draft)
        (result,) = checks_run([item], corpus_text(name))
        assert set(result) == set(CHECKS)
        assert all(result.values()), (name, item, result)


def test_a_lifted_statement_hidden_among_options_fails_but_the_gate_did_not_write_the_check():
    # The checks import nothing of the gate: they are a re-statement, not the gate judging itself.
    import tests.ai.item_checks as checks

    assert "quality" not in " ".join(vars(checks))
