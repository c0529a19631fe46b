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


def test_a_model_answer_in_digits_is_supported_by_a_number_the_text_writes_in_words():
    gate = Gate.of("The human heart has four chambers. The two upper chambers are called atria.")

    stated = question({"type": "numeric", "question": "How many chambers does the human heart have?", "answer": 4})
    wrong = question({"type": "numeric", "question": "How many chambers does the human heart have?", "answer": 3})

    assert gate.question(stated) is None
    refusal = gate.question(wrong)
    assert refusal is not None and refusal.check == "unsupported"


def test_model_output_that_is_sound_passes_untouched():
    text = corpus_text("cell_biology.md")
    gate = Gate.of(text)
    items = [
        question(
            {
                "type": "single",
                "question": "Which organelles are the sites of protein synthesis?",
                "options": ["ribosomes", "lysosomes", "chloroplasts", "vacuoles"],
                "answer_index": 0,
                "source_passage": "Ribosomes are the sites of protein synthesis.",
            }
        ),
        question(
            {"type": "true_false", "question": "Prokaryotic cells, such as bacteria, have no nucleus.", "answer": True}
        ),
        question(
            {
                "type": "free_text",
                "question": "Explain why cells that work hard contain many mitochondria.",
                "answer": "Mitochondria release energy from food, and cells that work hard, such as muscle cells, "
                "contain thousands of mitochondria.",
            }
        ),
    ]

    assert [gate.question(item) for item in items] == [None, None, None]
    assert (
        gate.card(
            card({"front": "What are ribosomes?", "back": "the sites of protein synthesis", "tags": ["ribosomes"]})
        )
        is None
    )


def _course_texts() -> str:
    from pathlib import Path

    data = Path(__file__).resolve().parent.parent / "data"
    return "\n\n".join((data / n).read_text() for n in ("heart.md", "printing.md", "water_cycle.md"))


def test_a_statement_is_stated_exactly_when_one_unit_of_the_text_holds_all_its_meaning_words():
    from lms_tool.ai.quality import _LEAD_WORDS, Source, _content

    source = Source(_course_texts())
    # Each unit as written, each with its last meaning word swapped for another unit's, and pairs of units.
    assert len(source.units) > 67
    statements = [*source.units[:80]]
    statements += [
        f"{a.rsplit(' ', 1)[0]} {b.rsplit(' ', 1)[-1]}"
        for a, b in zip(source.units[:60], source.units[7:67], strict=True)
    ]
    statements += [f"{a} {b}" for a, b in zip(source.units[:40], source.units[1:41], strict=True)]

    def by_every_unit(statement: str) -> bool:  # the definition, unit by unit
        wanted = _content(statement) - _LEAD_WORDS
        return source.contains(statement) or (bool(wanted) and any(wanted <= have for have in source.unit_content))

    answers = [source.states(s) for s in statements]
    assert answers == [by_every_unit(s) for s in statements]
    assert True in answers and False in answers


def test_a_names_class_reads_the_words_written_around_each_use():
    from lms_tool.ai.quality import Source

    source = Source(
        "Wegener proposed drift. Later Wegener argued more. The Romans built roads. The Alps rose. "
        "Troops crossed the Alps. In Carthage, people traded; ships left Carthage. European music spread. "
        "European music changed. Ada wrote notes."
    )

    assert source.name_class("Wegener") == "agent-one"
    assert source.name_class("Romans") == "people-one"
    assert source.name_class("Alps") == "the-one"
    assert source.name_class("European") == "describing-one"
    assert source.name_class("Nowhere Land") == "bare-several"
    assert source.name_class("Carthage") == "place-one"
