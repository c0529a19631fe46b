"""Compile gettext catalogs (``.po`` -> ``.mo``) in Python, so a fresh machine needs no GNU gettext.

The same job as ``msgfmt`` for what Django's catalogs use: ``msgctxt``, plurals and the header; fuzzy and
untranslated entries are left out as ``msgfmt`` leaves them out (docs/translation.md). The output is
deterministic (entries sorted), so a committed ``.mo`` can be checked against its ``.po`` by a test.
"""

from __future__ import annotations

import ast
import struct
from pathlib import Path

Key = str  # msgid, with "ctxt\x04" before it and "\x00plural" after it as gettext stores them


def po_parse(text: str) -> dict[Key, str]:
    """The translated entries of a ``.po`` file: key -> message (plural forms joined by NUL)."""
    catalog: dict[Key, str] = {}
    entry: dict[str, str] = {}
    state: dict[str, str] = {"fuzzy": "", "field": ""}

    def flush() -> None:
        if "msgid" in entry:
            forms = sorted((k for k in entry if k.startswith("msgstr[")), key=lambda k: int(k[7:-1]))
            message = "\x00".join(entry[k] for k in forms) if forms else entry.get("msgstr", "")
            key = entry["msgid"] + ("\x00" + entry["msgid_plural"] if "msgid_plural" in entry else "")
            if "msgctxt" in entry:
                key = entry["msgctxt"] + "\x04" + key
            if message.replace("\x00", "") and (entry["msgid"] == "" or not state["fuzzy"]):
                catalog[key] = message
        entry.clear()
        state["fuzzy"], state["field"] = "", ""

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if state["field"].startswith("msgstr"):
                flush()  # a comment after a message starts the next entry
            if line.startswith("#,") and "fuzzy" in line:
                state["fuzzy"] = "fuzzy"
            continue
        if line.startswith('"'):
            entry[state["field"]] += ast.literal_eval(line)
            continue
        keyword, _, rest = line.partition(" ")
        if keyword in ("msgctxt", "msgid") and state["field"].startswith("msgstr"):
            flush()
        state["field"] = keyword
        entry[keyword] = ast.literal_eval(rest.strip())
    flush()
    return catalog


def mo_build(catalog: dict[Key, str]) -> bytes:
    """The GNU ``.mo`` bytes of a catalog (little-endian, no hash table: gettext then searches by bisection)."""
    keys = sorted(catalog)
    ids = [k.encode("utf-8") for k in keys]
    strs = [catalog[k].encode("utf-8") for k in keys]
    count = len(keys)
    header_size = 7 * 4
    originals_at = header_size
    translations_at = originals_at + count * 8
    data_at = translations_at + count * 8
    table_o: list[tuple[int, int]] = []
    table_t: list[tuple[int, int]] = []
    data = b""
    for blob, table in ((ids, table_o), (strs, table_t)):
        for item in blob:
            table.append((len(item), data_at + len(data)))
            data += item + b"\x00"
    out = struct.pack("<7I", 0x950412DE, 0, count, originals_at, translations_at, 0, data_at)
    out += b"".join(struct.pack("<2I", length, offset) for length, offset in table_o)
    out += b"".join(struct.pack("<2I", length, offset) for length, offset in table_t)
    return out + data


def catalogs_compile(root: Path) -> list[Path]:
    """Compile every ``locale/<lang>/LC_MESSAGES/*.po`` under ``root``; the ``.mo`` files written."""
    written = []
    for po in sorted(root.glob("*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        content = mo_build(po_parse(po.read_text(encoding="utf-8")))
        if not mo.exists() or mo.read_bytes() != content:
            mo.write_bytes(content)
        written.append(mo)
    return written


if __name__ == "__main__":  # `python -m lms_tool.core.messages [locale-dir]` (the Makefile's `messages`)
    import sys

    for path in catalogs_compile(Path(sys.argv[1] if len(sys.argv) > 1 else "locale")):
        print(f"compiled {path}")
