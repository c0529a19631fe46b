"""Take webhook signing secrets (``whsec_...``) out of stored idempotent answers.

Creating a subscription with an ``Idempotency-Key`` used to store the whole answer, secret included,
for replays (lms_tool/api/idempotency.py); the secret must be shown once and kept only encrypted
(docs/api.md, "Webhooks"). Each such secret becomes null with a note, as new replays answer.
"""

from typing import Any

from django.db import migrations

PREFIX = "whsec_"
NOTE = (
    "The signing secret was shown only in the first answer to this request and is not kept anywhere in the clear. "
    "If it was lost, delete this subscription and create a new one."
)


def scrubbed(value: Any) -> Any:
    """``value`` with every string that starts with the secret prefix replaced by None."""
    if isinstance(value, str):
        return None if value.startswith(PREFIX) else value
    if isinstance(value, list):
        return [scrubbed(item) for item in value]
    if isinstance(value, dict):
        out = {key: scrubbed(item) for key, item in value.items()}
        if isinstance(value.get("secret"), str) and value["secret"].startswith(PREFIX):
            out["secret_note"] = NOTE
        return out
    return value


def scrub(apps: Any, schema_editor: Any) -> None:
    IdempotencyRecord = apps.get_model("api", "IdempotencyRecord")
    for pk, body in IdempotencyRecord.objects.values_list("pk", "response_body").iterator():
        clean = scrubbed(body)
        if clean != body:
            IdempotencyRecord.objects.filter(pk=pk).update(response_body=clean)


class Migration(migrations.Migration):
    dependencies = [("api", "0002_sync_indexes")]

    operations = [migrations.RunPython(scrub, migrations.RunPython.noop)]
