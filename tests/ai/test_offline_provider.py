"""The offline provider writes honest questions from real course text, with no network and no model."""

from __future__ import annotations

import re

import pytest

from lms_tool.ai.offline import OfflineProvider
from lms_tool.ai.offline.text import BLANK, TextIndex, split_sentences

from .conftest import course_text

ALL_TYPES = ["single", "multiple", "true_false", "numeric", "short", "free_text"]
TEXTS = ["heart.md", "printing.md", "water_cycle.md"]


def _in_text(fragment: str, text: str) -> bool:
    return re.sub(r"\s+", " ", fragment).casefold() in re.sub(r"\s+", " ", text).casefold()


@pytest.mark.parametrize("name", TEXTS)
def test_every_question_comes_from_a_sentence_of_the_text(name):
    text = course_text(name)

    result = OfflineProvider().generate_questions(text=text, count=12, types=ALL_TYPES)

    assert len(result.items) >= 8
    for question in result.items:
        for passage in split_sentences(question.source_passage):
            assert _in_text(passage, text), passage
        assert question.explanation.startswith("The text states")


@pytest.mark.parametrize("name", TEXTS)
def test_single_choice_answers_are_stated_and_distractors_are_same_kind_terms_of_the_text(name):
    text = course_text(name)
    index = TextIndex(text)
    kinds = {term.text: term.kind for terms in index.by_kind.values() for term in terms}

    result = OfflineProvider().generate_questions(text=text, count=10, types=["single"])

    assert result.items
    for question in result.items:
        answer = question.options[question.correct[0]]
        assert BLANK in question.prompt
        assert _in_text(question.prompt.split("\u201c", 1)[1].rstrip("\u201d").replace(BLANK, answer), text)
        assert len(set(o.casefold() for o in question.options)) == len(question.options) >= 3
        assert {kinds[o] for o in question.options} == {kinds[answer]}
        for option in question.options:
            assert option.casefold() in text.casefold()


def test_true_false_statements_are_the_text_or_the_text_with_one_term_swapped():
    text = course_text("heart.md")

    result = OfflineProvider().generate_questions(text=text, count=8, types=["true_false"])

    assert {q.correct[0] for q in result.items} == {0, 1}, "both true and false statements"
    for question in result.items:
        statement = question.prompt.removeprefix("True or false? ")
        assert _in_text(statement, text) is (question.correct == [0])
        assert _in_text(question.source_passage, text)


def test_cloze_and_numeric_answers_fill_the_blank_with_the_texts_words():
    text = course_text("printing.md")

    result = OfflineProvider().generate_questions(text=text, count=6, types=["short", "numeric"])

    kinds = {q.type for q in result.items}
    assert kinds == {"short", "numeric"}
    for question in result.items:
        blanked = question.prompt.split("\u201c", 1)[1].rstrip("\u201d")
        if question.type == "short":
            assert _in_text(blanked.replace(BLANK, question.answers[0]), text)
        else:
            number = f"{question.numeric_answer:g}"
            assert _in_text(blanked.replace(BLANK, number), text)


def test_multiple_choice_marks_exactly_the_statements_the_text_makes():
    text = course_text("water_cycle.md")

    result = OfflineProvider().generate_questions(text=text, count=2, types=["multiple"])

    assert result.items
    for question in result.items:
        stated = {i for i, option in enumerate(question.options) if _in_text(option, text)}
        assert stated == set(question.correct)
        assert 0 < len(question.correct) < len(question.options)


def test_it_is_deterministic():
    text = course_text("heart.md")
    provider = OfflineProvider()

    first = provider.generate_questions(text=text, count=10, types=ALL_TYPES, difficulty="hard")
    second = provider.generate_questions(text=text, count=10, types=ALL_TYPES, difficulty="hard")

    assert first.items == second.items
    assert first.model == "offline-v1" and "difficulty=hard" in first.prompt


def test_difficulty_sets_the_number_of_options():
    text = course_text("heart.md")

    easy = OfflineProvider().generate_questions(text=text, count=3, types=["single"], difficulty="easy")
    hard = OfflineProvider().generate_questions(text=text, count=3, types=["single"], difficulty="hard")

    assert {len(q.options) for q in easy.items} == {3}
    # Hard asks for five options; a term kind with fewer same-kind terms in the text gives fewer.
    assert max(len(q.options) for q in hard.items) == 5 and min(len(q.options) for q in hard.items) >= 3


def test_it_says_when_the_text_has_no_more_material():
    result = OfflineProvider().generate_questions(
        text="The heart pumps blood through the body. The lungs take up oxygen from the air.",
        count=10,
        types=["single", "numeric"],
    )

    reasons = [r.reason for r in result.rejected]
    assert any("no more material for a 'numeric'" in r for r in reasons)
    assert len(result.items) < 10


def test_it_writes_flashcards_from_stated_facts():
    text = course_text("water_cycle.md")

    result = OfflineProvider().generate_cards(text=text, count=6)

    assert len(result.items) == 6
    for card in result.items:
        assert _in_text(card.source_passage, text)
        assert card.back.casefold() in card.source_passage.casefold() or card.back == card.source_passage
        assert card.tags


class TestFreeTextGrading:
    grade = staticmethod(OfflineProvider().grade_answer)
    reference = "The sinoatrial node is the natural pacemaker of the heart."

    def test_an_answer_in_the_same_words_gets_full_marks_with_confidence(self):
        result = self.grade(
            question="q",
            reference_answer=self.reference,
            answer="the sinoatrial node is the natural pacemaker of the heart",
            max_score=2,
        )
        assert result.score == 2 and result.confidence >= 0.9

    def test_an_empty_answer_scores_zero_with_confidence(self):
        result = self.grade(question="q", reference_answer=self.reference, answer="  ", max_score=2)
        assert result.score == 0 and result.confidence >= 0.9

    def test_a_paraphrase_gets_partial_credit_with_low_confidence(self):
        result = self.grade(
            question="q",
            reference_answer=self.reference,
            answer="It is the heart's pacemaker, a node of cells.",
            max_score=2,
        )
        assert 0 < result.score < 2 and result.confidence < 0.8
        assert "Missing" in result.rationale

    def test_a_negated_answer_is_flagged_with_very_low_confidence(self):
        result = self.grade(
            question="q",
            reference_answer=self.reference,
            answer="The sinoatrial node is not the natural pacemaker of the heart.",
            max_score=2,
        )
        assert result.confidence <= 0.2
