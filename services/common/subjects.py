"""Subjects of the event log on the bus.

Every event goes to `ha.evt.<aggregate>[.<token>]`: `ha.evt.pool`, `ha.evt.host.<host>`,
`ha.evt.vm.<vm>`; the stream HA_EVENTS captures `ha.evt.>`. A consumer interested in one VM
filters on its subject.

Host and VM names may hold characters a subject token cannot (space, `.`, `*`, `>`), so
names are encoded into tokens: ASCII letters, digits, `-` and `_` stay as they are; every
other byte of the name's UTF-8 form becomes `%XX` (uppercase hex), `%` included, so the
encoding is reversible: "Minion 1" -> "Minion%201", "web.01" -> "web%2E01".
"""

from __future__ import annotations

import string
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the event catalogue costs a start tenths of a second: `haplan status` and
    # the other commands that only send requests never load it (issue 15)
    from schemas.events import EventBase

STREAM = "HA_EVENTS"
EVENTS_ROOT = "ha.evt"
EVENT_SUBJECTS = f"{EVENTS_ROOT}.>"

_KEEP = frozenset((string.ascii_letters + string.digits + "-_").encode())


def encode_token(name: str) -> str:
    """A subject token for `name` (see the module docstring)."""
    return "".join(chr(b) if b in _KEEP else f"%{b:02X}" for b in name.encode("utf-8"))


def decode_token(token: str) -> str:
    """The name `encode_token` turned into `token`."""
    out = bytearray()
    i = 0
    while i < len(token):
        if token[i] == "%":
            out.append(int(token[i + 1 : i + 3], 16))
            i += 3
        else:
            out.extend(token[i].encode("ascii"))
            i += 1
    return out.decode("utf-8")


def subject_for(event: EventBase) -> str:
    """The subject `event` is appended on."""
    name = event.aggregate_name()
    if name is None:
        return f"{EVENTS_ROOT}.{event.AGGREGATE}"
    return f"{EVENTS_ROOT}.{event.AGGREGATE}.{encode_token(name)}"
