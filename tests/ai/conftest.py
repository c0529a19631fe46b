from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .chat_server import ChatServer

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture
def chat_server() -> Iterator[ChatServer]:
    server = ChatServer().start()
    yield server
    server.stop()


def course_text(name: str) -> str:
    return (DATA / name).read_text()
