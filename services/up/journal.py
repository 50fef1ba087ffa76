"""What `haplan up` itself did (processes started, exits, restarts, cables pulled), kept for
the live view and written as JSON lines to its own log."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO


@dataclass(frozen=True, slots=True)
class Note:
    at: datetime
    member: str  # "lab1", "arbiter", "planner", "nats-server", "up"
    text: str
    fields: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": "up",
            "at": self.at.isoformat(),
            "member": self.member,
            "text": self.text,
            **self.fields,
        }


Listener = Callable[[Note], None]


class Journal:
    def __init__(self, log_file: Path | None = None, keep: int = 10) -> None:
        self.recent: deque[Note] = deque(maxlen=keep)
        self._listeners: list[Listener] = []
        self._file: TextIO | None = None
        if log_file is not None:
            self._file = log_file.open("a", encoding="utf-8", buffering=1)

    @property
    def stream(self) -> TextIO | None:
        """The log file, for the process's own structured logging to share."""
        return self._file

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def note(self, member: str, text: str, **fields: Any) -> Note:
        note = Note(datetime.now(UTC), member, text, fields)
        self.recent.append(note)
        if self._file is not None:
            self._file.write(json.dumps(note.as_json(), default=str) + "\n")
        for listener in self._listeners:
            listener(note)
        return note

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
