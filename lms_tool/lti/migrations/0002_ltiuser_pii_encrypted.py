"""Names and emails of users encrypted at rest (Fernet), with a blind index on email and SIS id.

Existing plain values are encrypted in place: the columns first become unbounded text (a token is
longer than the 500 characters they held), then each row is rewritten, then the model fields take
over (no further schema change: they are text columns).
"""

from django.db import migrations, models

import lms_tool.core.fields

NAME = lms_tool.core.fields.EncryptedTextField()
INDEXED = lms_tool.core.fields.BlindIndexedField()


def _rewrite(apps, schema_editor, convert) -> None:  # type: ignore[no-untyped-def]
    LtiUser = apps.get_model("lti", "LtiUser")
    rows = LtiUser.objects.exclude(name="", email="").values_list("pk", "name", "email").iterator(chunk_size=1000)
    for pk, name, email in rows:
        LtiUser.objects.filter(pk=pk).update(name=convert(NAME, name), email=convert(INDEXED, email))


def encrypt(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    _rewrite(apps, schema_editor, lambda field, value: field.seal(value) if value else value)


def decrypt(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    _rewrite(apps, schema_editor, lambda field, value: field.open(value)[:500] if value else value)


class Migration(migrations.Migration):
    dependencies = [("lti", "0001_initial")]

    operations = [
        migrations.AlterField(model_name="ltiuser", name="name", field=models.TextField(blank=True)),
        migrations.AlterField(model_name="ltiuser", name="email", field=models.TextField(blank=True)),
        migrations.RunPython(encrypt, decrypt, elidable=False),
        migrations.AlterField(
            model_name="ltiuser", name="name", field=lms_tool.core.fields.EncryptedTextField(blank=True)
        ),
        migrations.AlterField(
            model_name="ltiuser", name="email", field=lms_tool.core.fields.BlindIndexedField(blank=True)
        ),
        migrations.AddField(
            model_name="ltiuser",
            name="sis_id",
            field=lms_tool.core.fields.BlindIndexedField(
                blank=True, default="", help_text="The person's id in the SIS (LIS person_sourcedid)."
            ),
            preserve_default=False,
        ),
        migrations.AddIndex(
            model_name="ltiuser",
            index=models.Index(
                models.functions.Substr("email", 1, 64), name="lti_user_email_bidx"
            ),
        ),
        migrations.AddIndex(
            model_name="ltiuser",
            index=models.Index(
                models.functions.Substr("sis_id", 1, 64), name="lti_user_sis_id_bidx"
            ),
        ),
    ]
