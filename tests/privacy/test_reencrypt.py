"""Key rotation: after `manage.py reencrypt` the old key can go and everything still reads."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from lms_tool.core import crypto
from lms_tool.core.models import AuditEvent
from lms_tool.lti.models import ToolKey
from lms_tool.privacy.rotation import encrypted_columns
from lms_tool.webhooks import services as webhooks
from lms_tool.webhooks.models import Subscription

pytestmark = pytest.mark.django_db


def test_it_covers_signing_keys_and_webhook_secrets() -> None:
    labels = {f"{model._meta.label}.{field.name}" for model, field, _ in encrypted_columns()}
    assert {"lti.ToolKey.private_key_encrypted", "webhooks.Subscription.secret_encrypted"} <= labels


def test_reencrypt_moves_every_ciphertext_to_the_new_key(use_keys, new_key, settings) -> None:  # type: ignore[no-untyped-def]
    old, new = new_key(), new_key()
    use_keys(old)
    settings.HTTP_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    ToolKey.objects.create(kid="k1", private_key_encrypted=crypto.encrypt("-----PEM-----"), public_jwk={})
    subscription, secret = webhooks.subscription_create(
        name="s", url="http://127.0.0.1:9/h", events=["*"], actor_type="admin", actor_id="t"
    )
    use_keys(new, old)
    out = StringIO()
    call_command("reencrypt", "--batch-size", "1", stdout=out)
    assert "lti.ToolKey.private_key_encrypted: 1 re-encrypted" in out.getvalue()
    use_keys(new)  # the old key is gone
    assert ToolKey.objects.get(kid="k1").private_pem() == b"-----PEM-----"
    assert Subscription.objects.get(pk=subscription.pk).secret() == secret
    assert AuditEvent.objects.filter(action="encryption.reencrypted").exists()


def test_without_reencrypt_removing_the_old_key_is_caught(use_keys, new_key) -> None:  # type: ignore[no-untyped-def]
    old, new = new_key(), new_key()
    use_keys(old)
    ToolKey.objects.create(kid="k1", private_key_encrypted=crypto.encrypt("pem"), public_jwk={})
    use_keys(new)
    with pytest.raises(crypto.DecryptionError):
        ToolKey.objects.get(kid="k1").private_pem()
