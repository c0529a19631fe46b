"""``Idempotency-Key`` on writes: the first answer is stored with the write and replayed for retries.

The record is inserted in the same transaction as the write, so a write is never stored without
its answer or the other way round. A concurrent request with the same key waits on the unique
constraint and then replays; a key reused for a different request is refused (422). Answers of
4xx/5xx are not stored (and their writes are rolled back), so a corrected retry may reuse the key.

An answer that shows a secret once (a webhook signing secret) stores a copy without it
(``replayed_as``): a replay says the secret was shown before instead of showing it again, and no
secret is ever kept in the clear in this table.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from .errors import Conflict, Unprocessable
from .models import ApiClient, IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def _fingerprint(request: Request) -> str:
    digest = hashlib.sha256()
    for part in (request.method or "", request.get_full_path(), request.body):
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def replayed_as(response: Response, body: Any) -> Response:
    """Store ``body`` instead of the answer's own data, for replays (answers that show a secret once)."""
    response.idempotent_body = body  # type: ignore[attr-defined]
    return response


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        raise Unprocessable(f"This {HEADER} was already used for a different request; send a new key.")
    if record.status_code == 0:
        raise Conflict(f"A request with this {HEADER} is still being processed; retry shortly.")
    return Response(record.response_body, status=record.status_code, headers={"Idempotent-Replayed": "true"})


def idempotent(handler: Callable[..., Response]) -> Callable[..., Response]:
    """Make a write handler honour ``Idempotency-Key`` (the header is optional)."""

    @functools.wraps(handler)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER)
        if key is None:
            return handler(view, request, *args, **kwargs)
        if not key.strip() or len(key) > MAX_KEY_LENGTH:
            raise exceptions.ValidationError({HEADER: [f"Must be 1 to {MAX_KEY_LENGTH} characters."]})
        client: ApiClient = request.user
        fingerprint = _fingerprint(request)
        existing = IdempotencyRecord.objects.filter(client=client, key=key).first()
        if existing is not None:
            return _replay(existing, fingerprint)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = IdempotencyRecord.objects.create(client=client, key=key, fingerprint=fingerprint)
            except IntegrityError:
                # A concurrent request with the same key committed first: answer as it did.
                return _replay(IdempotencyRecord.objects.get(client=client, key=key), fingerprint)
            response = handler(view, request, *args, **kwargs)
            if response.status_code >= 400:
                transaction.set_rollback(True)
                return response
            record.status_code = response.status_code
            record.response_body = getattr(response, "idempotent_body", response.data)
            record.save(update_fields=["status_code", "response_body"])
            return response

    wrapper.idempotent = True  # type: ignore[attr-defined]
    return wrapper
