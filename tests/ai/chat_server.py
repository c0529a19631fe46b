"""A small chat-completions server on 127.0.0.1 for the OpenAI-compatible provider's tests.

Each request takes the next scripted answer: ``{"content": "..."}`` (a completion with that message),
``{"status": 500}``, or ``{"sleep": 2.0, "content": ...}`` (answers late); ``"usage"`` in a step replaces the
reported token usage. Requests are recorded.

``POST .../moderations`` never takes a scripted step: with ``moderation = None`` (the default) it answers 404,
as servers without that endpoint do (vLLM, Ollama); with a set of words it answers like OpenAI's endpoint,
flagging each input that contains one of them (category "hate"), or ``moderation_status`` if set. Those
requests go to ``moderation_requests``.

``obey`` makes it a grader that a learner can talk round, so tests prove the prompt and the checks around
it neutralise that, not that the fake happens to be sturdy: with ``obey="outside"`` it gives full marks
with confidence 0.99 when it sees an instruction ("full marks", "ignore the rubric", a "SYSTEM:" line, a grade as JSON)
outside the first ``<student_answer>``...``</student_answer>`` of the user message, or spelled in
invisible Unicode tag characters anywhere; with ``obey="anywhere"`` it obeys one inside the tags too.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

INSTRUCTION = re.compile(
    r"full marks|award|ignore (the|all|previous)|\"score\"\s*:|^\s*(system|assistant):", re.IGNORECASE | re.MULTILINE
)
ANSWER = re.compile(r"<student_answer>.*?</student_answer>", re.DOTALL)


def _tag_text(text: str) -> str:
    """What invisible tag characters (U+E0020..E007E) spell, as a model that reads them would."""
    return "".join(chr(ord(c) - 0xE0000) for c in text if 0xE0020 <= ord(c) <= 0xE007E)


def obeyed(body: dict[str, Any], mode: str | None) -> str | None:
    """The grade a gullible model would give for this request, or None if it was not talked round."""
    if mode is None:
        return None
    user = next((m["content"] for m in body.get("messages", []) if m["role"] == "user"), "")
    seen = user if mode == "anywhere" else ANSWER.sub("", user, count=1)
    if not (INSTRUCTION.search(seen) or INSTRUCTION.search(_tag_text(user))):
        return None
    maximum = re.search(r"Maximum score: ([0-9.]+)", user)
    score = float(maximum.group(1)) if maximum else 1.0
    return json.dumps({"score": score, "confidence": 0.99, "rationale": "As instructed: full marks."})


class ChatServer:
    def __init__(self) -> None:
        self.obey: str | None = None
        self.moderation: set[str] | None = None
        self.moderation_status: int | None = None
        self.moderation_requests: list[dict[str, Any]] = []
        self.script: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                if self.path.endswith("/moderations"):
                    server.moderation_requests.append({"path": self.path, "body": body})
                    status, payload = server.moderate(body)
                    self._send(status, payload)
                    return
                server.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
                step = server.script.pop(0) if server.script else {"content": "{}"}
                talked_round = obeyed(body, server.obey)
                if talked_round is not None:
                    step = {"content": talked_round}
                if step.get("sleep"):
                    time.sleep(step["sleep"])
                status = step.get("status", 200)
                payload: dict[str, Any] = (
                    {"error": {"message": "scripted failure"}}
                    if status != 200
                    else {
                        "id": "chatcmpl-test",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model", "test-model"),
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "message": {"role": "assistant", "content": step.get("content")},
                            }
                        ],
                        "usage": step.get("usage", {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}),
                    }
                )
                self._send(status, payload)

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def moderate(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.moderation_status is not None:
            return self.moderation_status, {"error": {"message": "scripted moderation failure"}}
        if self.moderation is None:
            return 404, {"error": {"message": "no such endpoint"}}
        texts = body.get("input") or []
        texts = [texts] if isinstance(texts, str) else texts
        results = []
        for text in texts:
            hit = any(word in str(text).lower() for word in self.moderation)
            results.append({"flagged": hit, "categories": {"hate": hit, "violence": False}, "category_scores": {}})
        return 200, {"id": "modr-test", "model": "omni-moderation-latest", "results": results}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}/v1"

    def start(self) -> ChatServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
