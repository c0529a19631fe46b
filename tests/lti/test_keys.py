"""The tool's own keys: RFC 7638 kids, encrypted at rest, rotation with an overlap, loaded once per process."""

from __future__ import annotations

import io
import time
from datetime import timedelta

import jwt
import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from jwcrypto.jwk import JWK

from lms_tool.core import crypto
from lms_tool.core.models import AuditEvent
from lms_tool.lti import keys
from lms_tool.lti.models import ToolKey

pytestmark = pytest.mark.django_db


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """Run on-commit hooks (cache invalidation after a rotation) as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def published_kids(client, url: str = "/lti/jwks/") -> set[str]:  # type: ignore[no-untyped-def]
    response = client.get(url)
    assert response.status_code == 200
    return {k["kid"] for k in response.json()["keys"]}


def verify(token: str, kid: str) -> dict:
    jwk = ToolKey.objects.get(kid=kid).public_jwk
    return jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["RS256"])


# Creation -------------------------------------------------------------------------------------
def test_a_new_key_is_named_by_its_rfc7638_thumbprint():
    key = keys.key_create()

    assert key.kid == JWK(**key.public_jwk).thumbprint()
    assert key.kid == JWK.from_pem(key.private_pem()).thumbprint()
    assert key.public_jwk["alg"] == "RS256" and key.public_jwk["use"] == "sig"
    assert "d" not in key.public_jwk, "the published JWK carries no private part"


def test_the_private_key_is_encrypted_at_rest():
    key = keys.key_create()
    pem = key.private_pem().decode()
    body = pem.splitlines()[1]
    assert pem.startswith("-----BEGIN PRIVATE KEY-----")

    with connection.cursor() as cursor:
        cursor.execute("SELECT private_key_encrypted FROM lti_toolkey WHERE kid = %s", [key.kid])
        stored = cursor.fetchone()[0]

    assert "PRIVATE KEY" not in stored
    assert body not in stored
    assert crypto.decrypt(stored) == pem


def test_the_private_key_cannot_be_read_with_another_encryption_key(settings):
    key = keys.key_create()
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    crypto.forget()
    try:
        with pytest.raises(crypto.DecryptionError):
            ToolKey.objects.get(pk=key.pk).private_pem()
    finally:
        crypto.forget()


def test_the_first_key_is_created_on_demand_and_only_once(client):
    assert not ToolKey.objects.exists()

    first = published_kids(client)
    second = published_kids(client, "/.well-known/jwks.json")

    assert first == second == {ToolKey.objects.get().kid}


def test_the_jwks_endpoint_is_public_and_cacheable(client):
    response = client.get("/lti/jwks/")

    assert response["Content-Type"] == "application/json"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "max-age" in response["Cache-Control"]


# Rotation -------------------------------------------------------------------------------------
def test_rotation_keeps_the_retiring_key_published_during_the_overlap(client, on_commit):
    old = keys.key_create()
    assert published_kids(client) == {old.kid}

    with on_commit():
        new = keys.key_rotate(overlap=timedelta(hours=1), actor="ops@example.edu")

    assert published_kids(client) == {old.kid, new.kid}
    assert published_kids(client, "/.well-known/jwks.json") == {old.kid, new.kid}
    assert keys.active_kid() == new.kid
    assert jwt.get_unverified_header(keys.sign({"sub": "x"}))["kid"] == new.kid
    event = AuditEvent.objects.get(action="tool_key.rotate")
    assert (event.actor_type, event.actor_id, event.object_id) == ("admin", "ops@example.edu", new.kid)
    assert event.before == {"active": [old.kid]}


def test_the_retiring_key_leaves_the_jwks_when_the_overlap_ends(client, on_commit):
    old = keys.key_create()
    with on_commit():
        new = keys.key_rotate(overlap=timedelta(seconds=1))
    assert published_kids(client) == {old.kid, new.kid}

    time.sleep(1.1)

    # Even though the JWKS was just cached: the cache must not outlive the overlap.
    assert published_kids(client) == {new.kid}
    assert published_kids(client, "/.well-known/jwks.json") == {new.kid}


def test_a_signature_made_before_rotation_still_verifies_during_the_overlap(on_commit):
    old = keys.key_create()
    token = keys.sign({"sub": "before"})

    with on_commit():
        keys.key_rotate(overlap=timedelta(hours=1))

    published = {k["kid"]: k for k in keys.jwks()["keys"]}
    assert jwt.decode(token, jwt.PyJWK(published[old.kid]).key, algorithms=["RS256"])["sub"] == "before"


def test_there_is_one_active_key_after_several_rotations(on_commit):
    keys.key_create()
    for _ in range(3):
        with on_commit():
            keys.key_rotate()

    assert ToolKey.objects.filter(is_active=True).count() == 1
    assert ToolKey.objects.count() == 4


# Signing --------------------------------------------------------------------------------------
def test_sign_decrypts_and_parses_the_private_key_once_per_process(monkeypatch, django_assert_num_queries):
    key = keys.key_create()
    decrypted: list[str] = []
    parsed: list[int] = []
    real_private_pem = ToolKey.private_pem
    real_load = keys.serialization.load_pem_private_key

    def counting_private_pem(self: ToolKey) -> bytes:
        decrypted.append(self.kid)
        return real_private_pem(self)

    def counting_load(*args, **kwargs):  # type: ignore[no-untyped-def]
        parsed.append(1)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(ToolKey, "private_pem", counting_private_pem)
    monkeypatch.setattr(keys.serialization, "load_pem_private_key", counting_load)

    first = keys.sign({"n": 0})
    with django_assert_num_queries(0):
        tokens = [keys.sign({"n": n}) for n in range(1, 50)]

    assert decrypted == [key.kid] and len(parsed) == 1
    assert [verify(t, key.kid)["n"] for t in [first, *tokens]] == list(range(50))

    keys.forget()  # a new process
    keys.sign({"n": 50})
    assert len(decrypted) == 2 and len(parsed) == 2


def test_sign_adds_headers_and_keeps_the_kid():
    key = keys.key_create()

    token = keys.sign({"iss": "tool"}, headers={"typ": "JWT"})

    header = jwt.get_unverified_header(token)
    assert header == {"alg": "RS256", "kid": key.kid, "typ": "JWT"}


# Commands -------------------------------------------------------------------------------------
def run(*args: str) -> str:
    out = io.StringIO()
    call_command("lti_keys", *args, stdout=out)
    return out.getvalue()


def test_lti_keys_rotate_makes_a_new_active_key_and_audits_it(on_commit):
    old = keys.key_create()

    with on_commit():
        output = run("rotate")

    new = ToolKey.objects.get(is_active=True)
    assert new.kid != old.kid
    assert f"New active key {new.kid}" in output
    assert AuditEvent.objects.filter(action="tool_key.rotate", actor_id="cli", object_id=new.kid).exists()


def test_lti_keys_list_shows_active_retiring_and_retired_keys(on_commit):
    retired = keys.key_create()
    with on_commit():
        run("rotate", "--overlap-hours", "0")
    retiring = ToolKey.objects.get(is_active=True)
    with on_commit():
        run("rotate", "--overlap-hours", "2")
    active = ToolKey.objects.get(is_active=True)

    lines = {line.split()[0]: line for line in run("list").splitlines()}

    assert lines[active.kid].split()[1] == "active"
    assert lines[retiring.kid].split()[1] == "retiring"
    assert "until" in lines[retiring.kid]
    assert lines[retired.kid].split()[1] == "retired"
