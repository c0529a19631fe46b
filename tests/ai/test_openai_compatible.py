"""The OpenAI-compatible provider against a chat-completions server on 127.0.0.1: valid, malformed and slow."""

from __future__ import annotations

import json

import pytest

from lms_tool.ai import ProviderError, get_provider
from lms_tool.ai.openai_compatible import OpenAICompatibleProvider

TEXT = "The heart has four chambers. The aorta is the largest artery of the body."
SINGLE = {
    "type": "single",
    "question": "What is the largest artery of the body?",
    "options": ["aorta", "vena cava", "pulmonary vein", "capillary"],
    "answer_index": 0,
    "explanation": "The text says so.",
    "source_passage": "The aorta is the largest artery of the body.",
}


def provider(server, **kwargs) -> OpenAICompatibleProvider:
    return OpenAICompatibleProvider(
        base_url=server.base_url, model="test-model", api_key="sk-test", **{"timeout": 5.0, "max_retries": 0, **kwargs}
    )


def answer(*questions) -> dict:
    return {"content": json.dumps({"questions": list(questions)})}


def generate(server, count=5, types=("single", "multiple", "true_false", "numeric", "short", "free_text"), **kw):
    return provider(server, **kw).generate_questions(text=TEXT, count=count, types=list(types))


def test_a_valid_answer_becomes_drafts_with_model_and_prompt(chat_server):
    chat_server.script = [
        answer(SINGLE, {**SINGLE, "type": "true_false", "question": "The heart has four chambers.", "answer": True})
    ]

    result = generate(chat_server)

    assert [q.type for q in result.items] == ["single", "true_false"]
    assert result.items[0].correct == [0] and result.items[1].correct == [0]
    assert result.rejected == []
    assert result.model == "test-model"
    assert "quiz-prompts-v2" in result.prompt and "<course text: 73 characters" in result.prompt
    sent = chat_server.requests[0]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["auth"] == "Bearer sk-test"
    assert sent["body"]["model"] == "test-model"
    assert sent["body"]["response_format"]["type"] == "json_schema"
    assert TEXT in sent["body"]["messages"][1]["content"]


def test_json_in_a_markdown_fence_is_read(chat_server):
    chat_server.script = [{"content": "Here you are:\n```json\n" + json.dumps({"questions": [SINGLE]}) + "\n```"}]

    result = generate(chat_server)

    assert len(result.items) == 1


def test_invalid_json_is_rejected_whole_with_its_reason(chat_server):
    chat_server.script = [{"content": '{"questions": [{"type": "single", "question": "Oops'}]

    result = generate(chat_server)

    assert result.items == []
    assert "not valid JSON" in result.rejected[0].reason
    assert result.rejected[0].raw.startswith('{"questions"')


def test_an_answer_without_a_questions_list_is_rejected(chat_server):
    chat_server.script = [{"content": '{"items": []}'}]

    result = generate(chat_server)

    assert result.items == [] and "no 'questions' list" in result.rejected[0].reason


def test_an_answer_index_out_of_range_is_dropped_and_the_rest_kept(chat_server):
    chat_server.script = [answer({**SINGLE, "answer_index": 7}, SINGLE)]

    result = generate(chat_server)

    assert len(result.items) == 1
    assert result.rejected[0].reason == "answer index 7 is out of range (4 options)"
    assert result.rejected[0].raw["answer_index"] == 7


def test_duplicate_and_empty_options_are_repaired_when_the_meaning_is_clear(chat_server):
    chat_server.script = [
        answer({**SINGLE, "options": ["aorta", " ", "vena cava", "Vena Cava", "capillary"], "answer_index": 0})
    ]

    result = generate(chat_server)

    draft = result.items[0]
    assert draft.options == ["aorta", "vena cava", "capillary"] and draft.correct == [0]
    assert "empty option dropped" in draft.repairs and "duplicate option 'Vena Cava' dropped" in draft.repairs


def test_a_duplicate_that_is_both_right_and_wrong_is_dropped(chat_server):
    chat_server.script = [
        answer({**SINGLE, "type": "multiple", "options": ["aorta", "Aorta", "vein"], "answer_indices": [0]})
    ]

    result = generate(chat_server)

    assert result.items == []
    assert "appears twice, once as right and once as wrong" in result.rejected[0].reason


def test_the_correct_option_being_empty_is_dropped(chat_server):
    chat_server.script = [answer({**SINGLE, "options": ["", "vein", "artery"], "answer_index": 0})]

    assert "the correct option is empty" in generate(chat_server).rejected[0].reason


def test_fewer_than_two_distinct_options_is_dropped(chat_server):
    chat_server.script = [answer({**SINGLE, "options": ["aorta", "", "  "], "answer_index": 0})]

    assert generate(chat_server).rejected[0].reason == "fewer than two distinct options"


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({**SINGLE, "answer_index": None}, "the question has no answer (answer_index missing)"),
        ({k: v for k, v in SINGLE.items() if k != "answer_index"}, "the question has no answer (answer_index missing)"),
        ({**SINGLE, "type": "multiple", "answer_indices": []}, "no answer (answer_indices missing or empty)"),
        ({**SINGLE, "type": "short", "answer": ""}, "the question has no answer"),
        ({**SINGLE, "type": "numeric", "answer": "about four"}, "answer: 'about four' is not of type 'number'"),
        ({**SINGLE, "type": "true_false", "answer": "maybe"}, "answer: 'maybe' is not of type 'boolean'"),
        ({**SINGLE, "question": "  "}, "the question has no text"),
        ({**SINGLE, "type": "essay_plus"}, "unknown question type 'essay_plus'"),
        ("just a string", "the item is not a JSON object"),
    ],
)
def test_a_question_without_a_usable_answer_is_dropped_with_its_reason(chat_server, item, reason):
    chat_server.script = [answer(item)]

    result = generate(chat_server)

    assert result.items == []
    assert reason in result.rejected[0].reason


def test_unambiguous_slips_are_repaired_and_recorded(chat_server):
    chat_server.script = [
        answer(
            {**SINGLE, "type": "mcq", "answer_index": "B", "options": ["vena cava", "aorta", "vein"]},
            {**SINGLE, "type": "numeric", "answer": "1,000", "tolerance": 5},
            {**SINGLE, "type": "true_false", "answer": "False"},
        )
    ]

    result = generate(chat_server)

    single, numeric, truth = result.items
    assert single.type == "single" and single.correct == [1]
    assert "answer letter 'B' read as an index" in single.repairs
    assert numeric.numeric_answer == 1000 and numeric.tolerance == 5
    assert truth.correct == [1]


def test_types_not_asked_for_and_extra_questions_are_dropped(chat_server):
    chat_server.script = [answer(SINGLE, SINGLE, {**SINGLE, "type": "free_text", "answer": "x"})]

    result = generate(chat_server, count=1, types=["single"])

    assert len(result.items) == 1
    reasons = sorted(r.reason for r in result.rejected)
    assert reasons == ["more questions than the 1 asked for", "question type 'free_text' was not asked for"]


def test_a_slow_server_times_out_as_a_provider_error(chat_server):
    chat_server.script = [{"sleep": 2.0, "content": "{}"}]

    with pytest.raises(ProviderError, match="did not answer in time"):
        generate(chat_server, timeout=0.5)


def test_it_retries_a_server_error_then_succeeds(chat_server):
    chat_server.script = [{"status": 500}, answer(SINGLE)]

    result = generate(chat_server, max_retries=1)

    assert len(result.items) == 1 and len(chat_server.requests) == 2


def test_a_refusal_after_retries_is_a_provider_error(chat_server):
    chat_server.script = [{"status": 401}]

    with pytest.raises(ProviderError, match="HTTP 401"):
        generate(chat_server, max_retries=2)
    assert len(chat_server.requests) == 1, "a 401 is not retried"


def test_json_object_mode_for_servers_without_structured_output(chat_server):
    chat_server.script = [answer(SINGLE)]

    generate(chat_server, response_format="json_object")

    assert chat_server.requests[0]["body"]["response_format"] == {"type": "json_object"}


class TestGrading:
    def grade(self, server, content):
        server.script = [{"content": content}]
        return provider(server).grade_answer(question="Q?", reference_answer="ref", answer="ans", max_score=2)

    def test_a_valid_grade_is_kept_with_its_confidence(self, chat_server):
        result = self.grade(chat_server, json.dumps({"score": 1.5, "confidence": 0.9, "rationale": "Mostly right."}))
        assert (result.score, result.confidence, result.rationale, result.model) == (
            1.5,
            0.9,
            "Mostly right.",
            "test-model",
        )

    def test_malformed_grade_json_means_zero_confidence_for_a_person_to_grade(self, chat_server):
        result = self.grade(chat_server, "I think it deserves full marks")
        assert result.confidence == 0 and "could not be used" in result.rationale

    def test_a_grade_missing_its_confidence_is_not_trusted(self, chat_server):
        result = self.grade(chat_server, json.dumps({"score": 2, "rationale": "ok"}))
        assert result.confidence == 0 and "'confidence' is a required property" in result.rationale

    def test_a_score_out_of_range_is_clamped_and_flagged(self, chat_server):
        result = self.grade(chat_server, json.dumps({"score": 7, "confidence": 0.99, "rationale": "great"}))
        assert result.score == 2 and result.confidence == 0 and "outside 0..2" in result.rationale


def test_settings_choose_the_provider(settings, chat_server):
    settings.AI = {"BASE_URL": "", "MODEL": ""}
    assert get_provider().name == "offline"

    settings.AI = {"BASE_URL": chat_server.base_url, "MODEL": "m", "TIMEOUT_SECONDS": 3, "MAX_RETRIES": 0}
    chosen = get_provider()
    assert chosen.name == "openai" and chosen.model == "m"  # type: ignore[attr-defined]
