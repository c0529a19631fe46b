"""Re-encryption after a key rotation (MultiFernet): every ciphertext rewritten with the newest key.

Covers every ``EncryptedTextField`` of every installed model, and text columns named
``*_encrypted`` that hold a ``core.crypto`` token (signing keys, webhook secrets). Runs in batches,
each in its own transaction; ``updated_at`` is left alone, since the data did not change.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.apps import apps
from django.db import models, transaction

from lms_tool.core import crypto
from lms_tool.core.fields import EncryptedTextField
from lms_tool.core.services import audit_record


def encrypted_columns() -> Iterator[tuple[type[models.Model], models.Field, bool]]:
    """(model, field, is_field) for each encrypted column; ``is_field`` False for raw ``*_encrypted`` text."""
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                yield model, field, True
            elif isinstance(field, models.TextField | models.CharField) and field.name.endswith("_encrypted"):
                yield model, field, False


def _rotate_batch(
    model: type[models.Model], field: models.Field, is_field: bool, after_pk: object, size: int
) -> tuple[int, object]:
    manager = model._base_manager
    rows = list(
        manager.filter(pk__gt=after_pk)
        .exclude(**{field.name: ""})
        .exclude(**{f"{field.name}__isnull": True})
        .order_by("pk")
        .values_list("pk", field.name)[:size]
    )
    if not rows:
        return 0, None
    # A field decrypts on read and encrypts (newest key) on write; a raw column is rotated as a token.
    objs = [model(pk=pk, **{field.attname: value if is_field else crypto.rotate(value)}) for pk, value in rows]
    with transaction.atomic():
        manager.bulk_update(objs, [field.name])
    return len(rows), rows[-1][0]


def reencrypt(*, batch_size: int = 500, actor: str = "cli") -> dict[str, int]:
    """Rewrite every ciphertext with the newest key; returns counts per ``app.Model.field``."""
    counts: dict[str, int] = {}
    for model, field, is_field in encrypted_columns():
        label = f"{model._meta.label}.{field.name}"
        counts[label] = 0
        after: object = 0
        while after is not None:
            done, after = _rotate_batch(model, field, is_field, after, batch_size)
            counts[label] += done
    audit_record(
        actor_type="system",
        actor_id=actor,
        action="encryption.reencrypted",
        object_type="encryption_keys",
        object_id="FIELD_ENCRYPTION_KEYS",
        after=counts,
    )
    return counts
