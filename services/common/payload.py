"""Messages over the bus's size limit: one clear error naming the size and the limit.

nats-py refuses a payload over the server's `max_payload` with a bare "maximum payload
exceeded" (`MaxPayloadError`, which is also a `nats.errors.Error`, so it used to be taken for
"JetStream did not answer"), and does not count the headers, which the server does: a message
within the client's check but over the server's with its headers gets the connection closed.
So haplan checks every message it publishes itself, headers included, before sending it.
"""

from __future__ import annotations

from typing import Protocol

# The code of an answer that would be too large (the planner's service error code, the
# arbiter's status refusal): HTTP's "content too large".
TOO_LARGE = 413
TOO_LARGE_HINT = "see docs/protocol.md, Large events and answers"


class HasMaxPayload(Protocol):
    @property
    def max_payload(self) -> int: ...


class MessageTooLarge(Exception):
    """A message over the server's max_payload: nothing was sent."""

    def __init__(self, subject: str, size: int, limit: int) -> None:
        super().__init__(
            f"a message of {size:,} bytes on {subject} is over the NATS server's limit of "
            f"{limit:,} bytes (max_payload); nothing was sent"
        )
        self.subject = subject
        self.size = size
        self.limit = limit


def wire_size(payload: bytes, headers: dict[str, str] | None = None) -> int:
    """What the server counts against max_payload: the payload and the header block
    (`NATS/1.0`, one `key: value` line per header, a blank line; CRLF line ends)."""
    if not headers:
        return len(payload)
    block = len(b"NATS/1.0\r\n\r\n") + sum(
        len(k.encode()) + len(v.encode()) + 4 for k, v in headers.items()
    )
    return len(payload) + block


def check_size(
    nc: HasMaxPayload, subject: str, payload: bytes, headers: dict[str, str] | None = None
) -> None:
    """Raise MessageTooLarge when the message would be over the connection's server limit."""
    size = wire_size(payload, headers)
    if size > nc.max_payload:
        raise MessageTooLarge(subject, size, nc.max_payload)
