"""Model fields that keep PII encrypted at rest (MultiFernet, ``lms_tool.core.crypto``).

``EncryptedTextField`` stores a Fernet token; ``BlindIndexedField`` stores ``<blind index>$<token>``,
the keyed hash first, so rows can be found by value (``filter(email__blind="a@b.edu")``) without
decrypting them, and every write path (save, update, bulk upserts) keeps hash and token together.
Empty values stay empty. Only the ``blind`` and ``isnull`` lookups make sense on these columns.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Lookup
from django.db.models.functions import Substr

from . import crypto

INDEX_LENGTH = 64  # hex SHA-256
SEPARATOR = "$"


class EncryptedTextField(models.TextField):
    """Text encrypted with the newest key; readable with any configured key."""

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return self.seal(str(value))

    def seal(self, value: str) -> str:
        return crypto.encrypt(value)

    def open(self, stored: str) -> str:
        return crypto.decrypt(stored)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return value
        return self.open(value)


class BlindIndexedField(EncryptedTextField):
    """Encrypted text that can still be looked up by exact (case-insensitive, trimmed) value."""

    def seal(self, value: str) -> str:
        return crypto.blind_index(value) + SEPARATOR + crypto.encrypt(value)

    def open(self, stored: str) -> str:
        return crypto.decrypt(stored.partition(SEPARATOR)[2] or stored)


@BlindIndexedField.register_lookup
class Blind(Lookup):
    """``field__blind=value``: compares the stored keyed hash (served by an index on its prefix)."""

    lookup_name = "blind"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs_sql, lhs_params = compiler.compile(Substr(self.lhs, 1, INDEX_LENGTH))
        return f"{lhs_sql} = %s", (*lhs_params, crypto.blind_index(str(self.rhs)))


def blind_index_expression(field_name: str) -> Substr:
    """For ``models.Index(blind_index_expression("email"), name=...)``."""
    return Substr(field_name, 1, INDEX_LENGTH)
