"""The audit log is append-only in the database itself: triggers refuse UPDATE, DELETE and TRUNCATE of
``core_auditevent`` except through ``manage.py audit_purge`` (lms_tool/core/audit_guard.py explains how)."""

from django.db import migrations


def install(apps, schema_editor):  # type: ignore[no-untyped-def]
    from lms_tool.core import audit_guard

    audit_guard.install(schema_editor)


def uninstall(apps, schema_editor):  # type: ignore[no-untyped-def]
    from lms_tool.core import audit_guard

    audit_guard.uninstall(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_audit_source_address"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
