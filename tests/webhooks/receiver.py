"""A webhook receiver on 127.0.0.1 that checks Standard Webhooks signatures and fails on purpose."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from lms_tool.webhooks import signing


class Receiver:
    """Answers 500 to the first ``fail_first`` requests of each webhook-id (or to all with ``always_fail``); with
    ``redirect_to``, 307 to that URL instead; with ``delay``, only after that many seconds."""

    def __init__(self, secret: str = "", *, fail_first: int = 0, always_fail: bool = False):
        self.secret = secret
        self.fail_first = fail_first
        self.always_fail = always_fail
        self.redirect_to = ""
        self.delay = 0.0
        self.tries: Counter[str] = Counter()
        self.accepted: Counter[str] = Counter()
        self.bad_signatures = 0
        self.bodies: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _answer(self, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            if not signing.verify(secret=self.secret, headers=headers, body=body, now=int(time.time())):
                self.bad_signatures += 1
                return 401
            msg_id = headers["webhook-id"]
            self.tries[msg_id] += 1
            if self.always_fail or self.tries[msg_id] <= self.fail_first:
                return 500
            self.accepted[msg_id] += 1
            self.bodies[msg_id] = json.loads(body)
            return 204

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                time.sleep(receiver.delay)
                if receiver.redirect_to:
                    self.send_response(307)
                    self.send_header("Location", receiver.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status = receiver._answer({k.lower(): v for k, v in self.headers.items()}, body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
