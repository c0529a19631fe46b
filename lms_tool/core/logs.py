"""Log hygiene: bearer secrets that travel in URLs never reach a log line (docs/security.md, "Launch ids")."""

from __future__ import annotations

import logging
import re

# Query parameters and headers whose values are bearer secrets: a launch id (8 hours of someone's
# session in the tool) and a dynamic registration token.
_SECRET = re.compile(r"(?i)\b(launch|registration_token|lti_storage_value)=[^&\s\"'#;,]+")
_HEADER = re.compile(r"(?i)\b(x-lti-launch\W{1,4})[A-Za-z0-9_\-]{8,}")
REDACTED = "[redacted]"


class RedactSecrets(logging.Filter):
    """Blanks launch ids and registration tokens in the formatted message (the record stays; only its text changes)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is the logging module's to report, not ours
            return True
        cleaned = _HEADER.sub(rf"\g<1>{REDACTED}", _SECRET.sub(rf"\g<1>={REDACTED}", message))
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True
