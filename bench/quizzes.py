"""Quizzes: offline question generation on a 20-page text, and grading 3,000 submitted attempts.

    .venv/bin/python bench/quizzes.py                    # embedded SQLite under /tmp
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lms_h6 .venv/bin/python bench/quizzes.py

Measures:

- offline generation, questions per second: ``OfflineProvider.generate_questions`` writing 50 questions
  of all six types from a 20-page text (the three CC0 course texts of tests/data, repeated to ~10,000
  words), text analysis included. Baseline: the OpenAI-compatible provider against a chat-completions
  server on 127.0.0.1 that answers instantly with 50 valid questions (request, JSON and schema
  checks only, no model time at all: a floor no real model can beat).
- grading throughput end to end: ``attempt_submit`` on 3,000 in-progress attempts of a 10-question
  quiz (every objective type), each one locking the attempt, grading exactly, writing its answers and
  its Score outbox row (``score_submit``: line item, timestamp slot, audit row) and committing; the
  posting itself is the passback bench's. Baseline: the same submits as staff previews, which grade
  and commit but write no outbox row (so the ratio is what the outbox costs).

Scale with BENCH_QUIZ_ATTEMPTS (default 3000: `make bench` fits in about an hour and a quarter on 2 cores).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import _common

ATTEMPTS = int(os.environ.get("BENCH_QUIZ_ATTEMPTS", "3000"))
DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
TYPES = ["single", "multiple", "true_false", "numeric", "short", "free_text"]


def twenty_pages() -> str:
    texts = [(DATA / n).read_text() for n in ("heart.md", "printing.md", "water_cycle.md")]
    out, words = [], 0
    while words < 10_000:  # ~500 words a page
        for text in texts:
            out.append(text)
            words += len(text.split())
    return "\n\n".join(out)


def bench_generation() -> None:
    from lms_tool.ai.offline import OfflineProvider
    from lms_tool.ai.openai_compatible import OpenAICompatibleProvider

    text = twenty_pages()
    provider = OfflineProvider()
    provider.generate_questions(text=text, count=50, types=TYPES)  # warm-up
    runs, made, start = 0, 0, time.perf_counter()
    while time.perf_counter() - start < 5 or runs < 3:
        made += len(provider.generate_questions(text=text, count=50, types=TYPES).items)
        runs += 1
    offline_qps = made / (time.perf_counter() - start)
    print(f"offline: {runs} runs, {made / runs:.0f} questions each from {len(text.split())} words")

    sample = [q.__dict__ for q in provider.generate_questions(text=text, count=50, types=TYPES).items]
    answer = json.dumps({"questions": [_as_model_item(q) for q in sample]})
    server = _instant_chat_server(answer)
    remote = OpenAICompatibleProvider(base_url=f"http://127.0.0.1:{server.server_port}/v1", model="stub", max_retries=0)
    remote.generate_questions(text=text[:12000], count=50, types=TYPES)
    runs, made, start = 0, 0, time.perf_counter()
    while time.perf_counter() - start < 5 or runs < 3:
        made += len(remote.generate_questions(text=text[:12000], count=50, types=TYPES).items)
        runs += 1
    stub_qps = made / (time.perf_counter() - start)
    server.shutdown()
    _common.result(
        "quiz_offline_generation_vs_stub_model_server", offline_qps, "questions/s", stub_qps, offline_qps / stub_qps
    )


def _as_model_item(q: dict) -> dict:
    item = {
        "type": q["type"],
        "question": q["prompt"],
        "explanation": q["explanation"],
        "source_passage": q["source_passage"],
        "options": q["options"],
    }
    if q["type"] == "single":
        item["answer_index"] = q["correct"][0]
    elif q["type"] == "multiple":
        item["answer_indices"] = q["correct"]
    elif q["type"] == "true_false":
        item["answer"] = q["correct"] == [0]
    elif q["type"] == "numeric":
        item["answer"], item["tolerance"] = q["numeric_answer"], q["tolerance"]
    else:
        item["answer"] = q["answers"][0]
    return item


def _instant_chat_server(content: str) -> ThreadingHTTPServer:
    body = json.dumps(
        {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": "stub",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
        }
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def bench_grading() -> None:
    from django.conf import settings

    settings.GRADING_PASSBACK_ENABLED = False  # the outbox row is written; posting is bench/passback.py's
    quiz, course = _published_quiz()
    ours = _submit_all(quiz, course, preview=False)
    baseline = _submit_all(quiz, course, preview=True)
    _common.result("quiz_grading_throughput_vs_preview_no_gradebook", ours, "attempts/s", baseline, ours / baseline)


def _published_quiz():  # type: ignore[no-untyped-def]
    from lms_tool.lti.models import Context, Deployment, LtiUser, Registration, ResourceLink
    from lms_tool.quizzes import services

    registration = Registration.objects.create(
        issuer="https://bench.example.edu",
        client_id="bench",
        auth_login_url="https://b.example.edu/a",
        auth_token_url="https://b.example.edu/t",
        key_set_url="https://b.example.edu/j",
    )
    deployment = Deployment.objects.create(registration=registration, deployment_id="d")
    context = Context.objects.create(registration=registration, deployment=deployment, context_id="c")
    link = ResourceLink.objects.create(context=context, resource_link_id="rl", lineitem_url="https://b.example.edu/li")
    teacher = LtiUser.objects.create(registration=registration, sub="teacher")
    quiz, run = services.quiz_create(
        context=context,
        user=teacher,
        title="Bench",
        text=twenty_pages(),
        count=10,
        types=["single", "multiple", "true_false", "numeric", "short"],
    )
    services.generation_execute(run_id=run.pk)
    services.questions_approve_all(quiz=quiz, user=teacher)
    services.quiz_publish(quiz=quiz, user=teacher)
    return quiz, {"registration": registration, "link": link}


def _submit_all(quiz, course, *, preview: bool) -> float:  # type: ignore[no-untyped-def]
    from django.utils import timezone

    from lms_tool.lti.models import LtiUser
    from lms_tool.quizzes.models import Answer, Attempt, Question
    from lms_tool.quizzes.services import attempt_submit

    tag = "p" if preview else "s"
    users = LtiUser.objects.bulk_create(
        [LtiUser(registration=course["registration"], sub=f"{tag}{i}") for i in range(ATTEMPTS)], batch_size=2000
    )
    questions = list(quiz.questions.approved())
    ids = [q.pk for q in questions]
    now = timezone.now()
    attempts = Attempt.objects.bulk_create(
        [
            Attempt(
                quiz=quiz,
                user=u,
                resource_link=course["link"],
                number=1,
                quiz_version=quiz.version,
                question_ids=ids,
                started_at=now,
                is_preview=preview,
            )
            for u in users
        ],
        batch_size=2000,
    )
    answers = []
    for i, attempt in enumerate(attempts):
        for q in questions:
            right = i % 3 != 0  # a third of the class gets everything wrong
            answers.append(Answer(attempt=attempt, question=q, max_score=q.points, response=_response(q, right)))
    Answer.objects.bulk_create(answers, batch_size=5000)
    del answers
    assert all(q.type != Question.Type.FREE_TEXT for q in questions)
    start = time.perf_counter()
    for attempt in attempts:
        attempt_submit(attempt=attempt)
    elapsed = time.perf_counter() - start
    print(f"{'preview' if preview else 'graded + outbox'}: {ATTEMPTS} attempts in {elapsed:.1f} s")
    return ATTEMPTS / elapsed


def _response(question, right: bool):  # type: ignore[no-untyped-def]
    if question.is_choice:
        return question.correct if right else [i for i in range(len(question.options)) if i not in question.correct][:1]
    if question.type == "numeric":
        return question.numeric_answer if right else -1.0
    return question.answers[0] if right else "wrong"


def main() -> int:
    # On PostgreSQL a database of its own, created fresh and dropped at the end (bench/_common.own_database).
    with _common.own_database("lms_quizzes_bench"):
        return _main()


def _main() -> int:
    var_dir = _common.setup_django(prefix="lms-bench-quizzes-")
    try:
        print("machine:", _common.machine())
        print("database:", os.environ.get("DATABASE_URL", "sqlite (embedded)"))
        bench_generation()
        bench_grading()
        from lms_tool.grading.models import Score

        print(f"outbox rows written: {Score.objects.count()}")
    finally:
        _common.cleanup(var_dir)
    _common.print_results()
    return 0


if __name__ == "__main__":
    sys.exit(main())
