"""The sandbox's state in a JSON file, so `make run` keeps courses, activities and grades across restarts.

What is kept: courses with their members, the deep-linking record (activities), and the gradebook.
Not kept: login hints and NRPS page tokens (short-lived), and the signing keys (regenerated at start:
the tool refetches a platform's JWKS when a launch names a key it has not seen).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from .platform import Course, Person, Platform
from .services.ags_book import gradebook
from .services.deep_linking import deep_linking_log

VERSION = 1


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _decode(obj: dict[str, Any]) -> Any:
    if set(obj) == {"$datetime"}:
        return datetime.fromisoformat(obj["$datetime"])
    return obj


def snapshot(platform: Platform) -> dict[str, Any]:
    book, links = gradebook(platform), deep_linking_log(platform)
    with platform.lock:
        return {
            "version": VERSION,
            "base_url": platform.base_url,
            "courses": [
                {
                    **{k: v for k, v in asdict(c).items() if k not in {"members", "dropped"}},
                    "members": [asdict(p) for p in c.members.values()],
                    "dropped": [asdict(p) for p in c.dropped.values()],
                }
                for c in platform.courses.values()
            ],
            "gradebook": {
                "line_items": book.line_items,
                "results": [[item, user, result] for (item, user), result in book.results.items()],
                "log": book.log,
                "created": book.created,
            },
            "deep_linking": {"responses": links.responses, "links": links.links, "refused": links.refused},
        }


def save(platform: Platform, path: Path) -> None:
    """Write the platform's state atomically (a crash mid-write leaves the previous file)."""
    data = json.dumps(snapshot(platform), default=_encode)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(data)
    os.replace(temporary, path)


def load(platform: Platform, path: Path) -> bool:
    """Restore what ``save`` wrote for this platform; False (and nothing changed) when there is nothing usable."""
    try:
        data = json.loads(path.read_text(), object_hook=_decode)
    except (OSError, ValueError):
        return False
    # Line item and resource URLs embed the base URL: state from another port would point nowhere.
    if data.get("version") != VERSION or data.get("base_url") != platform.base_url:
        return False
    book, links = gradebook(platform), deep_linking_log(platform)
    with platform.lock:
        for row in data["courses"]:
            course = Course(row["context_id"], row["title"], row["label"], row["deployment_id"])
            course.members = {m["user_id"]: Person(**m) for m in row["members"]}
            course.dropped = {m["user_id"]: Person(**m) for m in row.get("dropped", [])}
            platform.courses[course.context_id] = course
        saved = data["gradebook"]
        book.line_items = saved["line_items"]
        book.results = {(item, user): result for item, user, result in saved["results"]}
        book.log, book.created = saved["log"], saved["created"]
        saved = data["deep_linking"]
        links.responses, links.links, links.refused = saved["responses"], saved["links"], saved["refused"]
    return True
