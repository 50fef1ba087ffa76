"""Events larger than one bus message: cut into fragments on append, put back together on read.

NATS refuses a message over the server's `max_payload` (512 KB for haplan's servers, and NATS
recommends small messages): the `pool_created` event of a 10,000-VM pool is about 2 MB. Such an
event is encoded once and its bytes cut into fragments, each a message on the event's subject
with `Haplan-Fragment: i/n`; the last one also carries the SHA-256 of the whole payload. All
fragments of an append go in one JetStream atomic batch, so the log holds all of them or none,
and a reader hands the event on only once its last fragment arrived and the digest matched:
nobody ever sees half an event, and the event itself (its type, version, fields) is what it
would be in one message. Events that fit in one message are stored exactly as before.

Pure: no IO; the JetStream store calls `split` and feeds `Reassembler`.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

FRAGMENT = "Haplan-Fragment"
DIGEST = "Haplan-Fragments-Sha256"
# Room left in each message for its headers (message id, batch headers, fragment headers):
# the server counts headers and payload together against max_payload.
HEADROOM = 8 * 1024
# Fragments are cut at this size, or smaller when the server's limit is lower.
FRAGMENT_BYTES = 256 * 1024


class Message(NamedTuple):
    """One message of an append: `msg_id` is its Nats-Msg-Id (the event id for the first or
    only message, so the server's duplicate window still works per event)."""

    subject: str
    payload: bytes
    msg_id: str
    headers: dict[str, str]


def whole_limit(max_payload: int) -> int:
    """The largest event payload sent as one message under this server limit (half of it
    for the headers under a limit below twice HEADROOM)."""
    return max(max_payload - min(HEADROOM, max_payload // 2), 1)


def split(subject: str, payload: bytes, event_id: str, max_payload: int) -> list[Message]:
    """The messages that carry one encoded event: itself when it fits, else its fragments."""
    if len(payload) <= whole_limit(max_payload):
        return [Message(subject, payload, event_id, {})]
    size = min(FRAGMENT_BYTES, whole_limit(max_payload))
    pieces = [payload[i : i + size] for i in range(0, len(payload), size)]
    n = len(pieces)
    out: list[Message] = []
    for i, piece in enumerate(pieces, start=1):
        headers = {FRAGMENT: f"{i}/{n}"}
        if i == n:
            headers[DIGEST] = hashlib.sha256(payload).hexdigest()
        out.append(Message(subject, piece, event_id if i == 1 else f"{event_id}/{i}", headers))
    return out


class Assembled(NamedTuple):
    """What one stored message gives a reader: the payload of a whole event (None while its
    fragments are still arriving, or for a fragment of an event begun before the read), and
    the problems found (fragments that do not make an event: each is an unreadable message)."""

    payload: bytes | None
    problems: tuple[str, ...] = ()


class _Group(NamedTuple):
    subject: str
    total: int
    parts: list[bytes]
    first_seq: int


class Reassembler:
    """Puts fragments back together, in stream order, for one reader."""

    def __init__(self) -> None:
        self._open: _Group | None = None

    def take(
        self, seq: int, subject: str, data: bytes, headers: dict[str, str] | None
    ) -> Assembled:
        tag = (headers or {}).get(FRAGMENT)
        problems: list[str] = []
        if tag is None:
            problems += self._abandon(seq)
            return Assembled(data, tuple(problems))
        position = _position(tag)
        if position is None:
            problems += self._abandon(seq)
            return Assembled(None, (*problems, f"fragment header {tag!r} is not i/n"))
        i, n = position
        if i == 1:
            problems += self._abandon(seq)
            self._open = _Group(subject, n, [data], seq)
        elif self._open is None:
            # The read began inside an event: its start is before the first sequence asked.
            return Assembled(None)
        elif (subject, n, len(self._open.parts) + 1) != (
            self._open.subject,
            self._open.total,
            i,
        ):
            problems += self._abandon(seq)
            return Assembled(None, (*problems, f"fragment {tag} at {seq} does not follow"))
        else:
            self._open.parts.append(data)
        group = self._open
        if len(group.parts) < group.total:
            return Assembled(None, tuple(problems))
        self._open = None
        payload = b"".join(group.parts)
        if hashlib.sha256(payload).hexdigest() != (headers or {}).get(DIGEST):
            return Assembled(
                None, (*problems, f"fragments {group.first_seq}-{seq}: the digest does not match")
            )
        return Assembled(payload, tuple(problems))

    def _abandon(self, seq: int) -> list[str]:
        """An open event whose fragments stopped before its last one: unreadable."""
        group, self._open = self._open, None
        if group is None:
            return []
        return [
            f"fragments from {group.first_seq}: {len(group.parts)} of {group.total}, "
            f"interrupted at {seq}"
        ]


def _position(tag: str) -> tuple[int, int] | None:
    i_text, _, n_text = tag.partition("/")
    if not (i_text.isdigit() and n_text.isdigit()):
        return None
    i, n = int(i_text), int(n_text)
    return (i, n) if 1 <= i <= n and n >= 2 else None
