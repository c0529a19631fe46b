"""The building blocks of the platform's routes: the request a handler reads, its answer, and the route table.

Route modules (``server``'s own, ``services/*``, ``registration``, ``embedding``, ``ui``) import this
module and register their handlers with ``@route``; ``server`` imports them and dispatches from
``ROUTES``. Nothing here imports a route module, so the imports only go one way
(docs/architecture.md, "Layers").
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from .platform import HttpRequest

if TYPE_CHECKING:
    from .platform import Platform

Answer = tuple[int, dict[str, str], bytes]
Handler = Callable[["Platform", "Req"], Answer]
ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []


class Req:
    def __init__(self, environ: dict[str, Any], match: re.Match[str]):
        self.environ = environ
        self.method = environ["REQUEST_METHOD"]
        self.path = environ.get("PATH_INFO", "")
        self.query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        self.headers = {
            key[5:].replace("_", "-").title(): value for key, value in environ.items() if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            self.headers["Content-Type"] = environ["CONTENT_TYPE"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.body = environ["wsgi.input"].read(length) if length else b""
        self.match = match

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def lti_request(self) -> HttpRequest:
        content_type = self.headers.get("Content-Type", "")
        json_body = None
        if "json" in content_type and self.body:
            json_body = self.json()
        return HttpRequest(
            {
                "method": self.method,
                "form_data": self.form if "form" in content_type else {},
                "get_data": dict(self.query),
                "headers": self.headers,
                "content_type": content_type,
                "path": self.path,
                "json": json_body,
            }
        )


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    def decorator(handler: Handler) -> Handler:
        ROUTES.append((method, re.compile(pattern + r"\Z"), handler))
        return handler

    return decorator


def json_response(status: int, data: Any, content_type: str = "application/json") -> Answer:
    return status, {"Content-Type": content_type}, json.dumps(data).encode()
