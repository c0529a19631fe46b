"""Launch benchmark: our LTI 1.3 launch path against stock pylti1p3 2.0.0, in one run.

    .venv/bin/python bench/launch.py            # full run, about 2 minutes on 2 cores
    .venv/bin/python bench/launch.py --quick    # smaller counts, a smoke test
    .venv/bin/python bench/launch.py --no-http  # the in-process parts only

1. In-process launch validation on the same id_tokens, signed by the sandbox platform (the
   independent lti1p3platform library): ours is ``lms_tool.lti.launch.launch_validate`` (registration
   and deployment lookups in the database, state and nonce in the Django cache: locmem, the embedded
   default's database cache, and Redis when REDIS_URL is set); stock is pylti1p3's
   ``DjangoMessageLaunch.validate()`` with a ``ToolConfDict``, a dict session and cookies, once as
   shipped (JWKS fetched over HTTP from the platform on 127.0.0.1 for every launch) and once with
   ``set_public_key_caching``.
2. Signing a client assertion and a deep-linking response: ours (key loaded once) against pylti1p3's
   ``ServiceConnector.get_access_token`` and ``DeepLink.get_response_jwt`` (PEM re-parsed each time).
3. Platform JWKS fetches per 1,000 launches in steady state.
4. An HTTP run: the tool under gunicorn (2 workers) and stock pylti1p3 under gunicorn (2 workers, the
   Django project in bench/stock_site), each driven by the same bounded load generator doing
   login -> platform auth -> launch; server CPU per login+launch pair from /proc, and latency.

Headline figures end the output as ``RESULT`` lines. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import gc
import html
import json
import os
import re
import secrets
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as bc

TOOL = "http://127.0.0.1:8000"  # the in-process parts never call it; only the URLs' shape matters


def speed_up_platform_signing() -> None:
    """The sandbox platform signs with lti1p3platform, which parses its PEM key twice per token (~70 ms:
    once for the kid, once to sign). It stands in for Canvas or Moodle and is not what is measured:
    let it reuse the parsed key and the kid, so the load generator is not the bottleneck. Nothing on
    the tool's side (ours or stock) is touched."""
    import functools

    import jwt
    import lti1p3platform.registration as lreg
    from cryptography.hazmat.primitives import serialization

    loaded: dict[str, Any] = {}
    get_jwk = functools.lru_cache(maxsize=16)(lreg.Registration.get_jwk.__func__)  # type: ignore[attr-defined]
    lreg.Registration.get_jwk = classmethod(lambda cls, key: dict(get_jwk(cls, key)))  # type: ignore[method-assign,assignment]

    def jwt_encode(
        payload: Any, key: str, algorithm: str = "HS256", headers: Any = None, json_encoder: Any = None
    ) -> str:
        if isinstance(key, str) and key.startswith("-----BEGIN"):
            if key not in loaded:
                loaded[key] = serialization.load_pem_private_key(key.encode(), password=None)
            key = loaded[key]
        return jwt.encode(payload, key, algorithm=algorithm, headers=headers, json_encoder=json_encoder)

    lreg.jwt_encode = jwt_encode  # type: ignore[assignment]


# 1. In-process validation -------------------------------------------------------------------------


@dataclass
class Series:
    label: str
    samples_ns: list[int]
    jwks_fetches: int
    launches: int
    cpu_s: float = 0.0  # process CPU over the measured launches (threads included: stock's JWKS server)

    @property
    def cpu_us(self) -> float:
        return 1e6 * self.cpu_s / max(self.launches, 1)

    @property
    def median_p99(self) -> tuple[float, float]:
        return bc.summary_us(self.samples_ns)

    @property
    def fetches_per_1000(self) -> float:
        return 1000 * self.jwks_fetches / max(self.launches, 1)


def mint_tokens(platform: Any, spec: Any, n: int) -> list[tuple[str, str]]:
    """Real launches from the sandbox platform's OIDC auth endpoint: (id_token, nonce) pairs."""
    tokens = []
    for _ in range(n):
        query = parse_qs(urlparse(platform.login_initiation_url(spec)).query)
        nonce = secrets.token_urlsafe(24)
        _, fields = platform.authorize(
            {
                "client_id": platform.client_id,
                "redirect_uri": platform.tool_launch_url,
                "scope": "openid",
                "response_type": "id_token",
                "response_mode": "form_post",
                "prompt": "none",
                "login_hint": query["login_hint"][0],
                "lti_message_hint": query["lti_message_hint"][0],
                "nonce": nonce,
                "state": "platform-state",
            }
        )
        tokens.append((fields["id_token"], nonce))
    return tokens


def seed_our_logins(platform: Any, tokens: list[tuple[str, str]]) -> list[tuple[str, dict[str, str]]]:
    """Run our OIDC login for each token (untimed) and bind its state to the token's nonce."""
    from django.core.cache import cache

    from lms_tool.lti import oidc

    logins = []
    for _, nonce in tokens:
        redirect = oidc.login_start(
            params={
                "iss": platform.issuer,
                "login_hint": "u",
                "client_id": platform.client_id,
                "target_link_uri": f"{TOOL}/lti/launch/",
            },
            launch_url=f"{TOOL}/lti/launch/",
            tool_host=TOOL.split("://", 1)[1],
        )
        key = oidc.STATE_PREFIX + redirect.state
        stored = cache.get(key)
        stored["nonce"] = nonce
        cache.set(key, stored, 600)
        logins.append((redirect.state, {redirect.cookie_name: redirect.cookie_value}))
    return logins


def run_ours(kind: str, platform: Any, tokens: list[tuple[str, str]], warmup: int) -> Series:
    from lms_tool.lti import platform_keys
    from lms_tool.lti.launch import launch_validate

    with bc.use_cache(kind):
        platform_keys.forget()  # start cold: the first launch fetches the JWKS, the rest must not
        logins = seed_our_logins(platform, tokens)
        samples: list[int] = []
        gc.collect()
        fetches_before = 0
        for i, ((id_token, _), (state, cookies)) in enumerate(zip(tokens, logins, strict=True)):
            if i == warmup:
                fetches_before = platform_keys.fetch_count
                cpu0 = time.process_time()
            t0 = time.perf_counter_ns()
            launch_validate(id_token=id_token, state=state, cookies=cookies)
            elapsed = time.perf_counter_ns() - t0
            if i >= warmup:
                samples.append(elapsed)
        cpu = time.process_time() - cpu0
        fetches = platform_keys.fetch_count - fetches_before
    return Series(f"ours, {kind} cache", samples, fetches, len(samples), cpu)


def stock_tool_conf(platform: Any, tool_pem: str, tool_public_pem: str) -> Any:
    from pylti1p3.tool_config import ToolConfDict

    conf = ToolConfDict(
        {
            platform.issuer: {
                "default": True,
                "client_id": platform.client_id,
                "auth_login_url": platform.auth_url,
                "auth_token_url": platform.token_url,
                "key_set_url": platform.jwks_url,
                "key_set": None,
                "deployment_ids": ["deployment-1"],
            }
        }
    )
    conf.set_private_key(platform.issuer, tool_pem)
    conf.set_public_key(platform.issuer, tool_public_pem)
    return conf


def stock_requests(tokens: list[tuple[str, str]]) -> list[Any]:
    """Django requests as the stock launch view gets them: POST parsed, state cookie, nonce in session."""
    from django.test import RequestFactory

    factory = RequestFactory()
    requests_ = []
    for id_token, nonce in tokens:
        state = "state-" + str(uuid.uuid4())
        request = factory.post(
            "/lti/launch/",
            urlencode({"id_token": id_token, "state": state}),
            content_type="application/x-www-form-urlencoded",
        )
        request.COOKIES["lti1p3-" + state] = state
        request.session = {"lti1p3-nonce-" + nonce: True}  # what DjangoOIDCLogin saved at login
        assert request.POST["state"] == state  # parse the body now, outside the timed part
        requests_.append(request)
    return requests_


def run_stock(platform: Any, conf: Any, tokens: list[tuple[str, str]], warmup: int, *, key_caching: bool) -> Series:
    from pylti1p3.contrib.django import DjangoCacheDataStorage, DjangoMessageLaunch

    with bc.use_cache("locmem"):
        storage = DjangoCacheDataStorage(cache_name="default") if key_caching else None
        requests_ = stock_requests(tokens)
        samples: list[int] = []
        gc.collect()
        fetches_before = 0
        for i, request in enumerate(requests_):
            if i == warmup:
                fetches_before = platform.requests_seen.count(("GET", "/jwks"))
                cpu0 = time.process_time()
            t0 = time.perf_counter_ns()
            launch = DjangoMessageLaunch(request, conf)
            if storage is not None:
                launch.set_public_key_caching(storage, cache_lifetime=7200)
            launch.validate()
            elapsed = time.perf_counter_ns() - t0
            if i >= warmup:
                samples.append(elapsed)
        cpu = time.process_time() - cpu0
        fetches = platform.requests_seen.count(("GET", "/jwks")) - fetches_before
    label = "stock pylti1p3, set_public_key_caching" if key_caching else "stock pylti1p3 as shipped (JWKS per launch)"
    return Series(label, samples, fetches, len(samples), cpu)


def statements_per_pair(platform: Any, spec: Any, pairs: int = 20) -> float:
    """Database statements of one repeat login + launch pair through the whole Django stack (test client, the
    configured database and cache), counted with ``connection.execute_wrapper``; the platform's part is not a
    request to the tool and is left out."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings

    count = [0]

    def counter(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        count[0] += 1
        return execute(sql, params, many, context)

    def pair() -> None:
        client = Client(HTTP_HOST="127.0.0.1:8000")
        url = urlparse(platform.login_initiation_url(spec))
        login = client.get(url.path, {k: v[0] for k, v in parse_qs(url.query).items()})
        assert login.status_code == 302, re.findall(r"error-code\">([^<]*)<", login.content.decode())
        query = {k: v[0] for k, v in parse_qs(urlparse(login["Location"]).query).items()}
        _, fields = platform.authorize(query)
        launch = client.post("/lti/launch/", fields)
        assert launch.status_code == 302 and "launch=" in launch["Location"], launch.content[:300]

    with override_settings(ALLOWED_HOSTS=["127.0.0.1"], TOOL_BASE_URL=TOOL):
        pair()  # the first launch records the person, course and link
        with connection.execute_wrapper(counter):
            for _ in range(pairs):
                pair()
    return count[0] / pairs


# 2. Signing -----------------------------------------------------------------------------------------


class _FakeTokenSession:
    """Stands in for the platform's token endpoint so only pylti1p3's assertion building is timed."""

    class _Answer:
        ok = True

        @staticmethod
        def json() -> dict[str, str]:
            return {"access_token": "t", "token_type": "Bearer"}

    def post(self, *args: Any, **kwargs: Any) -> Any:
        return self._Answer()


def time_calls(fn: Callable[[], Any], n: int, warmup: int = 2) -> list[int]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - t0)
    return samples


def run_signing(platform: Any, conf: Any, n_ours: int, n_stock: int) -> dict[str, list[int]]:
    from pylti1p3.deep_link import DeepLink
    from pylti1p3.deep_link_resource import DeepLinkResource
    from pylti1p3.lineitem import LineItem
    from pylti1p3.service_connector import ServiceConnector

    from lms_tool.lti import claims as c
    from lms_tool.lti import deep_linking, service_client
    from lms_tool.lti.models import Registration
    from lms_tool.lti.types import LtiLaunch

    registration = Registration.objects.get(issuer=platform.issuer, client_id=platform.client_id)
    stock_reg = conf.find_registration(platform.issuer)
    dl_settings = {"deep_link_return_url": platform.base_url + "/deep-link-return", "data": "dl-data"}
    resource = (
        DeepLinkResource()
        .set_url(f"{TOOL}/lti/launch/")
        .set_title("Quiz 1")
        .set_custom_params({"quiz": "1"})
        .set_lineitem(LineItem().set_score_maximum(10).set_label("Quiz 1"))  # type: ignore[arg-type]
    )
    deep_link = DeepLink(stock_reg, "deployment-1", dl_settings)

    # The product's own path: ``deep_linking.response_build`` for a deep-linking launch of this registration
    # (settings check, content item with its activity proof, claims, signature), with the claims a validated
    # launch keeps: the response's issuer is the launch's client_id (``aud``).
    dl_launch = LtiLaunch(
        launch_id="bench",
        claims={
            "iss": platform.issuer,
            "aud": platform.client_id,
            c.MESSAGE_TYPE: "LtiDeepLinkingRequest",
            c.DEPLOYMENT_ID: "deployment-1",
            c.DL_SETTINGS: {**dl_settings, "accept_types": ["ltiResourceLink"], "accept_multiple": False},
        },
        registration_id=registration.pk,
        deployment_pk=registration.deployments.get().pk,
        user_pk=0,
    )
    item = deep_linking.PickableItem(kind="quiz", id="1", title="Quiz 1", score_maximum=10)

    def ours_deep_link() -> str:
        return deep_linking.response_build(launch=dl_launch, items=[item], url=f"{TOOL}/lti/launch/").jwt

    return {
        "ours_assertion": time_calls(lambda: service_client.client_assertion(registration), n_ours),
        "ours_deep_link": time_calls(ours_deep_link, n_ours),
        "stock_assertion": time_calls(
            lambda: ServiceConnector(stock_reg, _FakeTokenSession()).get_access_token(  # type: ignore[arg-type]
                [service_client.SCOPE_SCORE]
            ),
            n_stock,
            warmup=1,
        ),
        "stock_deep_link": time_calls(lambda: deep_link.get_response_jwt([resource]), n_stock, warmup=1),
    }


# 4. HTTP run ----------------------------------------------------------------------------------------

_FORM = re.compile(r'<form[^>]*action="([^"]+)"')
_INPUT = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@dataclass
class HttpRun:
    label: str
    pairs: int
    errors: int
    cpu_s: float
    latencies_s: list[float]
    wall_s: float
    first_error: str = ""
    server_errors: str = ""  # the server's log from its first ERROR line on, if it logged any

    @property
    def cpu_ms_per_pair(self) -> float:
        return 1000 * self.cpu_s / max(self.pairs, 1)


def one_pair(session: Any, platform: Any, spec: Any, expect: Callable[[Any], bool]) -> tuple[float, str]:
    """Login at the tool, auth at the platform, launch POST at the tool; (tool seconds, error or '')."""
    session.cookies.clear()  # a new browser each time: stock's signed-cookie session must not grow
    login_url = platform.login_initiation_url(spec)
    t0 = time.perf_counter()
    login = session.get(login_url, allow_redirects=False, timeout=10)
    tool_s = time.perf_counter() - t0
    if login.status_code != 302:
        return tool_s, f"login {login.status_code}: {login.text[:300]}"
    auth = session.get(login.headers["Location"], allow_redirects=False, timeout=10)
    form = _FORM.search(auth.text)
    if auth.status_code != 200 or form is None:
        return tool_s, f"platform auth {auth.status_code}: {auth.text[:300]}"
    fields = {name: html.unescape(value) for name, value in _INPUT.findall(auth.text)}
    t0 = time.perf_counter()
    launch = session.post(html.unescape(form.group(1)), data=fields, allow_redirects=False, timeout=10)
    tool_s += time.perf_counter() - t0
    if not expect(launch):
        return tool_s, f"launch {launch.status_code}: {launch.text[:300]}"
    return tool_s, ""


def drive(
    platform: Any, specs: list[Any], expect: Callable[[Any], bool], *, pairs: int, seconds: float, concurrency: int
) -> tuple[list[float], int, str, float]:
    """A bounded load: ``concurrency`` threads, at most ``pairs`` pairs and ``seconds`` seconds."""
    import requests

    lock = threading.Lock()
    latencies: list[float] = []
    errors = [0]
    first_error = [""]
    issued = [0]
    deadline = time.monotonic() + seconds

    def worker() -> None:
        session = requests.Session()
        while True:
            with lock:
                if issued[0] >= pairs or time.monotonic() > deadline:
                    return
                n = issued[0]
                issued[0] += 1
            try:
                tool_s, error = one_pair(session, platform, specs[n % len(specs)], expect)
            except requests.RequestException as exc:  # a timeout or refused connection is an error, counted
                tool_s, error = 0.0, f"{type(exc).__name__}: {exc}"
                session = requests.Session()
            with lock:
                if error:
                    errors[0] += 1
                    first_error[0] = first_error[0] or error
                else:
                    latencies.append(tool_s)

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 30)
    return latencies, errors[0], first_error[0], time.monotonic() - t0


def http_run(
    label: str,
    app: str,
    env: dict[str, str],
    platform: Any,
    specs: list[Any],
    expect: Callable[[Any], bool],
    args: argparse.Namespace,
    port: int,
) -> HttpRun:
    log = Path(os.environ["VAR_DIR"]) / f"gunicorn-{port}.log"
    proc = bc.start_gunicorn(app, port=port, env=env, workers=2, log=log)
    try:
        workers = bc.children(proc.pid)
        # Warm up: imports, first JWKS fetch, key loading, connection set-up in each worker.
        _, warm_errors, warm_error, _ = drive(
            platform, specs, expect, pairs=args.warmup_pairs, seconds=30, concurrency=args.concurrency
        )
        if warm_errors:
            server_log = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(f"{label}: warm-up failed: {warm_error}\nserver log:\n{server_log}")
        cpu0 = sum(bc.cpu_seconds(pid) for pid in workers)
        latencies, errors, first_error, wall = drive(
            platform, specs, expect, pairs=args.pairs, seconds=args.seconds, concurrency=args.concurrency
        )
        cpu = sum(bc.cpu_seconds(pid) for pid in workers) - cpu0
        if sorted(bc.children(proc.pid)) != sorted(workers):
            raise RuntimeError(f"{label}: a gunicorn worker was replaced during the run; CPU figures invalid")
    finally:
        bc.stop_process(proc)
    text = log.read_text(errors="replace") if log.exists() else ""
    server_errors = text[text.find(" ERROR ") - 30 :][:3000] if " ERROR " in text else ""
    return HttpRun(label, len(latencies) + errors, errors, cpu, latencies, wall, first_error, server_errors)


def make_http_platform(server: Any, tool: str, client_id: str) -> tuple[Any, list[Any]]:
    from lms_tool.sandbox.platform import ROLE, Person, Platform

    platform = Platform(
        base_url=server.base_url,
        tool_login_url=f"{tool}/lti/login/",
        tool_launch_url=f"{tool}/lti/launch/",
        tool_jwks_url=f"{tool}/lti/jwks/",
        client_id=client_id,
        family="canvas",
    )
    course = platform.add_course("course-bench", title="Benchmark 101")
    people = [
        platform.enrol(course, Person(f"student-{i}", f"Student {i}", f"s{i}@example.edu", [ROLE + "Learner"]))
        for i in range(40)
    ]
    people.append(platform.enrol(course, Person("teacher-1", "Teacher", "t@example.edu", [ROLE + "Instructor"])))
    from lms_tool.sandbox.platform import LaunchSpec

    return platform, [LaunchSpec(person, course) for person in people]


def run_http(args: argparse.Namespace, tool_pems: tuple[str, str]) -> list[HttpRun]:
    from lms_tool.lti import registry
    from lms_tool.sandbox.server import PlatformServer

    runs = []
    # A platform server of its own per run: a JWKS URL (and keys) no earlier part has cached.
    server = PlatformServer().start()
    port = bc.free_port()
    tool = f"http://127.0.0.1:{port}"
    platform, specs = make_http_platform(server, tool, "tool-client-http")
    registry.registration_upsert(
        issuer=platform.issuer,
        client_id=platform.client_id,
        auth_login_url=platform.auth_url,
        auth_token_url=platform.token_url,
        key_set_url=platform.jwks_url,
        deployment_ids=["deployment-1"],
    )
    server.platform = platform
    env = {**os.environ, "TOOL_BASE_URL": tool}
    try:
        runs.append(
            http_run(
                "ours",
                "lti_config.wsgi",
                env,
                platform,
                specs,
                lambda r: r.status_code == 302 and "launch=" in r.headers.get("Location", ""),
                args,
                port,
            )
        )
    finally:
        server.stop()

    for caching in [True, False] if args.stock_as_shipped_http else [True]:
        server = PlatformServer().start()
        port = bc.free_port()
        tool = f"http://127.0.0.1:{port}"
        platform, specs = make_http_platform(server, tool, "stock-client")
        server.platform = platform
        conf = {
            "issuers": {
                platform.issuer: {
                    "default": True,
                    "client_id": platform.client_id,
                    "auth_login_url": platform.auth_url,
                    "auth_token_url": platform.token_url,
                    "key_set_url": platform.jwks_url,
                    "key_set": None,
                    "deployment_ids": ["deployment-1"],
                }
            },
            "private_key": tool_pems[0],
            "public_key": tool_pems[1],
        }
        env = {
            "PATH": os.environ.get("PATH", ""),
            "DJANGO_SETTINGS_MODULE": "bench.stock_site.settings",
            "STOCK_LTI_CONF": json.dumps(conf),
            "STOCK_KEY_CACHING": "1" if caching else "0",
            "PYTHONPATH": str(bc.BASE_DIR),
        }
        label = "stock pylti1p3, set_public_key_caching" if caching else "stock pylti1p3 as shipped"
        try:
            runs.append(
                http_run(
                    label,
                    "django.core.wsgi:get_wsgi_application()",
                    env,
                    platform,
                    specs,
                    lambda r: r.status_code == 200 and r.text.startswith("launched"),
                    args,
                    port,
                )
            )
        finally:
            server.stop()
    return runs


# Report ---------------------------------------------------------------------------------------------


def tool_key_pems() -> tuple[str, str]:
    """Our active key as PEM strings, so stock pylti1p3 signs with the same RSA-2048 key."""
    from cryptography.hazmat.primitives import serialization

    from lms_tool.lti import keys

    key = keys.private_key(keys.active_kid())
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke test, not figures")
    parser.add_argument("--no-http", action="store_true", help="skip the gunicorn run")
    parser.add_argument("--tokens", type=int, default=1200, help="signed id_tokens for the in-process runs")
    parser.add_argument("--warmup", type=int, default=100, help="launches left out of each in-process series")
    parser.add_argument("--pairs", type=int, default=1000, help="login+launch pairs per HTTP run (upper bound)")
    parser.add_argument("--seconds", type=float, default=30.0, help="time limit of each HTTP run")
    parser.add_argument("--warmup-pairs", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=4, help="load generator threads")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; figures are their median")
    parser.add_argument(
        "--stock-as-shipped-http",
        action="store_true",
        help="also serve stock pylti1p3 as shipped (JWKS per launch) over HTTP; the baseline is key caching",
    )
    args = parser.parse_args()
    if args.quick:
        args.tokens, args.warmup, args.pairs, args.seconds, args.warmup_pairs = 200, 20, 100, 10.0, 10
        args.rounds = 3
    return args


def main() -> None:
    # On PostgreSQL a database of its own, created fresh and dropped at the end (bench/_common.own_database).
    with bc.own_database("lms_launch_bench"):
        _main()


def _main() -> None:
    args = parse_args()
    started = time.monotonic()
    var_dir = bc.setup_django()
    try:
        speed_up_platform_signing()
        from django.conf import settings

        from lms_tool.lti import registry
        from lms_tool.sandbox.platform import ROLE, LaunchSpec, Person, Platform
        from lms_tool.sandbox.server import PlatformServer

        db = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[1]
        m = bc.machine()
        print(
            f"machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']}, Python {m['python']}; database: {db}; "
            f"REDIS_URL {'set' if os.environ.get('REDIS_URL') else 'not set'}; "
            f"load average {os.getloadavg()[0]:.1f} (other work on the machine inflates wall times)"
        )
        server = PlatformServer().start()
        platform = Platform(
            base_url=server.base_url,
            tool_login_url=f"{TOOL}/lti/login/",
            tool_launch_url=f"{TOOL}/lti/launch/",
            tool_jwks_url=f"{TOOL}/lti/jwks/",
            client_id="tool-client-1",
            family="canvas",
        )
        server.platform = platform
        course = platform.add_course("course-101", title="Biology 101")
        person = platform.enrol(course, Person("student-1", "Sam Student", "sam@example.edu", [ROLE + "Learner"]))
        registry.registration_upsert(
            issuer=platform.issuer,
            client_id=platform.client_id,
            auth_login_url=platform.auth_url,
            auth_token_url=platform.token_url,
            key_set_url=platform.jwks_url,
            deployment_ids=["deployment-1"],
        )
        pems = tool_key_pems()
        conf = stock_tool_conf(platform, *pems)
        spec = LaunchSpec(person, course)
        kinds = ["locmem", "database"] + (["redis"] if os.environ.get("REDIS_URL") else [])
        print(
            f"\n1. In-process launch validation: {args.rounds} interleaved rounds of {args.tokens} id_tokens "
            f"from the sandbox platform (fresh tokens each round: ours spends their nonces), first {args.warmup} "
            "of each series left out"
        )
        rounds: list[dict[str, Series]] = []
        for n in range(args.rounds):
            tokens = mint_tokens(platform, spec, args.tokens)
            found = {
                "stock": run_stock(platform, conf, tokens, args.warmup, key_caching=False),
                "stock_cached": run_stock(platform, conf, tokens, args.warmup, key_caching=True),
            }
            for kind in kinds:
                found[kind] = run_ours(kind, platform, tokens, args.warmup)
            rounds.append(found)
            print(f"   round {n + 1} ({len(tokens[0][0])}-byte id_tokens; load average {os.getloadavg()[0]:.2f})")
            for s in found.values():
                med, p99 = s.median_p99
                print(
                    f"     {s.label:<45} median {med:7.1f} us  p99 {p99:8.1f} us  CPU {s.cpu_us:7.1f} us/launch  "
                    f"JWKS fetches/1000 launches {s.fetches_per_1000:6.1f}  (n={s.launches})"
                )

        with bc.use_cache("redis" if os.environ.get("REDIS_URL") else "database"):
            per_pair = statements_per_pair(platform, spec)
        print(f"   database statements per repeat login + launch pair (whole Django stack): {per_pair:.1f}")

        print("\n2. Signing (RS256, RSA-2048), per signature")
        signing = run_signing(platform, conf, n_ours=100 if args.quick else 300, n_stock=5 if args.quick else 15)
        sig = {name: bc.summary_us(samples) for name, samples in signing.items()}
        for name, (med, p99) in sig.items():
            print(f"   {name:<20} median {med / 1000:8.3f} ms   p99 {p99 / 1000:8.3f} ms   (n={len(signing[name])})")

        print("\n3. Platform JWKS fetches per 1,000 launches in steady state: see the column above")

        http_rounds: list[list[HttpRun]] = []
        if not args.no_http:
            cache_kind = "Redis (REDIS_URL)" if os.environ.get("REDIS_URL") else "database cache"
            print(
                f"\n4. HTTP: gunicorn, 2 sync workers each; ours on {db} + {cache_kind}; "
                f"{args.concurrency} client threads, up to {args.pairs} pairs or {args.seconds:.0f} s per run; "
                f"{args.rounds} rounds, ours and stock interleaved"
            )
            for n in range(args.rounds):
                http_runs = run_http(args, pems)
                http_rounds.append(http_runs)
                print(f"   round {n + 1} (load average {os.getloadavg()[0]:.2f})")
                for run in http_runs:
                    lat = [s * 1000 for s in run.latencies_s]
                    print(
                        f"     {run.label:<40} CPU/pair {run.cpu_ms_per_pair:6.2f} ms   pair p50 "
                        f"{bc.percentile(lat, 50):6.2f} ms   p99 {bc.percentile(lat, 99):6.2f} ms   "
                        f"{run.pairs} pairs in {run.wall_s:.1f} s, {run.errors} errors"
                    )
                    if run.first_error:
                        print(f"        first error: {run.first_error}")
                    if run.server_errors:
                        print("        the server logged errors:\n" + run.server_errors)
        server.stop()

        def medians(label: str, pick: Callable[[dict[str, Series]], float]) -> float:
            values = [pick(r) for r in rounds]
            bc.spread(label, values)
            return statistics.median(values)

        stock_med = medians("stock as shipped", lambda r: r["stock"].median_p99[0])
        cached_med = medians("stock key caching", lambda r: r["stock_cached"].median_p99[0])
        for kind in kinds:
            ours_med = medians(f"ours {kind}", lambda r, k=kind: r[k].median_p99[0])  # type: ignore[misc]
            suffix = "" if kind == "locmem" else f"_{kind}_cache"
            bc.result(
                f"launch_validate_median{suffix}_vs_stock_key_caching",
                ours_med,
                "us",
                cached_med,
                bc.ratio(cached_med, ours_med),
            )
            if kind == "locmem":
                bc.result(
                    "launch_validate_median_vs_stock_as_shipped_jwks_per_launch",
                    ours_med,
                    "us",
                    stock_med,
                    bc.ratio(stock_med, ours_med),
                )
        for name, ours_key, stock_key in (
            ("sign_client_assertion_vs_stock_service_connector", "ours_assertion", "stock_assertion"),
            ("sign_deep_linking_response_build_vs_stock_deep_link", "ours_deep_link", "stock_deep_link"),
        ):
            o, s = sig[ours_key][0] / 1000, sig[stock_key][0] / 1000
            bc.result(name, o, "ms", s, bc.ratio(s, o))
        ours_fetches = max(r[k].fetches_per_1000 for r in rounds for k in kinds)
        cached_fetches = max(r["stock_cached"].fetches_per_1000 for r in rounds)
        bc.result(
            "jwks_fetches_per_1000_launches_vs_stock_key_caching",
            ours_fetches,
            "fetches",
            cached_fetches,
            bc.ratio(cached_fetches, ours_fetches),
        )
        if http_rounds:
            tag = "pg" if db == "postgresql" else db
            by_label = {run.label: i for i, run in enumerate(http_rounds[0])}
            for label, key in (("stock pylti1p3, set_public_key_caching", "key_caching"),):
                if label not in by_label:
                    continue
                j = by_label[label]
                ours_cpu = statistics.median(bc.spread("ours CPU/pair", [r[0].cpu_ms_per_pair for r in http_rounds]))
                base_cpu = statistics.median(bc.spread("stock CPU/pair", [r[j].cpu_ms_per_pair for r in http_rounds]))
                bc.result(
                    f"http_cpu_per_pair_{tag}_vs_stock_{key}", ours_cpu, "ms", base_cpu, bc.ratio(base_cpu, ours_cpu)
                )
                for q in (50, 99):
                    o = statistics.median(
                        bc.spread(
                            f"ours p{q}",
                            [bc.percentile([x * 1000 for x in r[0].latencies_s], q) for r in http_rounds],
                        )
                    )
                    s = statistics.median(
                        bc.spread(
                            f"stock p{q}",
                            [bc.percentile([x * 1000 for x in r[j].latencies_s], q) for r in http_rounds],
                        )
                    )
                    bc.result(f"http_pair_p{q}_{tag}_vs_stock_{key}", o, "ms", s, bc.ratio(s, o))
            errors = sum(run.errors for r in http_rounds for run in r)
            if errors:
                print(f"\nHTTP errors over all rounds: {errors}")
        print(f"\n(total {time.monotonic() - started:.0f} s; load average now {os.getloadavg()[0]:.1f})")
        bc.print_results()
    finally:
        bc.cleanup(var_dir)


if __name__ == "__main__":
    main()
