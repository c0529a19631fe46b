"""The platform's HTTP face: a small WSGI app over ``Platform``, served on 127.0.0.1.

Routes (all under the platform's base URL):
  GET  /auth                      OIDC authorization endpoint (answers the auto-posting launch form)
  GET  /jwks                      the platform's public keys
  POST /token                     OAuth2 client-credentials token endpoint (client assertion JWT)
Further routes (AGS, NRPS, deep-link return) are registered in ``web.ROUTES`` by the modules of ``services``,
which this module imports; they build on ``web`` (``Req``, ``route``, ``json_response``), never on this module.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from lti1p3platform.exceptions import LtiException

# The service routes (AGS, NRPS, Deep Linking, registration, embedding) register themselves on import.
from . import services as _services  # noqa: F401
from .platform import Platform, PlatformError, launch_form_html
from .web import ROUTES, Req, json_response, route

logger = logging.getLogger(__name__)


@route("GET", r"/auth")
def auth(platform: Platform, req: Req) -> tuple[int, dict[str, str], bytes]:
    try:
        action, fields = platform.authorize(req.query)
    except PlatformError as exc:
        return json_response(exc.status, {"error": exc.error, "error_description": exc.description})
    return 200, {"Content-Type": "text/html; charset=utf-8"}, launch_form_html(action, fields).encode()


@route("GET", r"/jwks")
def jwks(platform: Platform, req: Req) -> tuple[int, dict[str, str], bytes]:
    fault = platform.faults.get("jwks")
    if fault == "500":
        return 500, {"Content-Type": "text/plain"}, b"Internal Server Error"
    if fault == "garbage":
        return 200, {"Content-Type": "text/html"}, b"<html>maintenance</html>"
    if fault == "no-keys":
        return json_response(200, {"items": []})
    return json_response(200, platform.jwks())


@route("POST", r"/token")
def token(platform: Platform, req: Req) -> tuple[int, dict[str, str], bytes]:
    fault = platform.faults.get("token")
    if fault is not None:
        status = int(fault)
        return json_response(status, {"error": "server_error"})
    form = req.form
    conf = platform.config()
    try:
        answer = conf.get_access_token(form)
    except (LtiException, KeyError, AssertionError) as exc:
        return json_response(400, {"error": "invalid_request", "error_description": str(exc)})
    except Exception as exc:  # noqa: BLE001 - PyJWT and jwcrypto raise many kinds for a bad assertion
        return json_response(401, {"error": "invalid_client", "error_description": str(exc)})
    with platform.lock:
        platform.faults["tokens_issued"] = platform.faults.get("tokens_issued", 0) + 1
    return json_response(200, answer)


def dispatch(platform: Platform, environ: dict[str, Any], path: str) -> tuple[int, dict[str, str], bytes]:
    """Answer one request to ``platform`` from ``ROUTES`` (shared by every server that hosts platforms)."""
    method = environ["REQUEST_METHOD"]
    with platform.lock:
        platform.requests_seen.append((method, path))
    for route_method, pattern, handler in ROUTES:
        match = pattern.match(path)
        if match and route_method == method:
            return handler(platform, Req(environ, match))
    return json_response(404, {"error": "not_found"})


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("platform: " + format, *args)


class PlatformServer:
    """Serves one ``Platform`` on 127.0.0.1 in a background thread."""

    def __init__(self, port: int = 0, prefix: str = ""):
        self.prefix = prefix.rstrip("/")
        self.platform: Platform | None = None
        self.httpd = make_server("127.0.0.1", port, self._app, server_class=_Server, handler_class=_QuietHandler)
        self.thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}{self.prefix}"

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if self.prefix and path.startswith(self.prefix):
            path = path[len(self.prefix) :]
            environ["PATH_INFO"] = path
        status, headers, body = self.handle(environ, path)
        start_response(f"{status} {_REASONS.get(status, 'Status')}", list(headers.items()))
        return [body]

    def handle(self, environ: dict[str, Any], path: str) -> tuple[int, dict[str, str], bytes]:
        platform = self.platform
        assert platform is not None, "attach a Platform before serving"
        return dispatch(platform, environ, path)

    def start(self) -> PlatformServer:
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="lti-platform", daemon=True
        )
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


_REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    415: "Unsupported Media Type",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
