"""Log entries as audits see them, and the export format: one JSON object per line.

A line is the event's stored JSON with its log sequence in front, `{"seq":12,"type":...}`,
the same objects `haplan events --json` prints, so either output can be audited offline.
Reading a line is pure (text in, entry or `UnreadableLine` out); the shells open the files.
"""

from __future__ import annotations

import json
import re
from typing import NamedTuple, Protocol

from schemas.events import Event, EventDecodeError, decode_event, encode_event


class Logged(Protocol):
    """What audits read of a log entry: an `Entry`, or a `Recorded` straight from an event
    store (`verify([r async for r in store.read()])`)."""

    @property
    def seq(self) -> int: ...

    @property
    def event(self) -> Event: ...


class Entry(NamedTuple):
    """One event of the log with its sequence."""

    seq: int
    event: Event


class UnreadableLine(ValueError):
    """A line of an export that is not an event with its sequence; the message says why."""


# What `encode_line` writes: the fast path of `decode_line` cuts the sequence off as text and
# hands the rest, the stored event as is, to pydantic-core in one pass.
_SEQ_PREFIX = re.compile(rb'\{\s*"seq"\s*:\s*(\d+)\s*,\s*')


def encode_line(seq: int, event: Event) -> bytes:
    """The export line of one event (no newline)."""
    return b'{"seq":%d,' % seq + encode_event(event)[1:]


def decode_line(line: bytes | str) -> Entry:
    """The entry one export line holds; UnreadableLine (one line, why) otherwise."""
    data = line.encode("utf-8") if isinstance(line, str) else line
    match = _SEQ_PREFIX.match(data)
    if match is not None:
        try:
            return Entry(_sequence(int(match.group(1))), decode_event(b"{" + data[match.end() :]))
        except EventDecodeError as exc:
            raise UnreadableLine(str(exc)) from None
    return _decode_object(data)


def _decode_object(data: bytes) -> Entry:
    # Lines written by other tools: any key order, any spacing.
    try:
        payload = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UnreadableLine(f"not JSON: {str(exc).splitlines()[0]}") from None
    if not isinstance(payload, dict):
        raise UnreadableLine(f"not a JSON object but {type(payload).__name__}")
    seq = payload.pop("seq", None)
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise UnreadableLine('no "seq": each line needs the event\'s log sequence')
    try:
        return Entry(_sequence(seq), decode_event(json.dumps(payload)))
    except EventDecodeError as exc:
        raise UnreadableLine(str(exc)) from None


def _sequence(seq: int) -> int:
    if seq < 1:
        raise UnreadableLine(f"sequence {seq} is not a log sequence (they start at 1)")
    return seq
