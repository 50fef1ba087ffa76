"""The arbiter's side of the bus protocol (schemas/messages.py): subjects, and messages to and
from bytes. A message is the JSON form of its pydantic model; what cannot be read is refused
with a one-line reason (`Malformed`), which the shell logs and counts, never a crash.
"""

from __future__ import annotations

from pydantic import BaseModel

from schemas.messages import FencedNotice, JoinRequest, NetworkHeartbeat, StoreObservation
from schemas.reports import HostReport
from services.common.wire import (
    BEACON,
    FENCED,
    HEARTBEATS,
    JOINS,
    OBSERVATIONS,
    REPORTS,
    Malformed,
    command_subject,
    decode,
    encode,
    subject_host,
)
from services.common.wire import OP_STATUS as STATUS

__all__ = [
    "BEACON",
    "INPUTS",
    "STATUS",
    "Malformed",
    "command_subject",
    "decode",
    "decode_input",
    "encode",
]

# What each subscribed subject carries, and the field that must name the subject's host.
INPUTS: dict[str, tuple[type[BaseModel], str]] = {
    HEARTBEATS: (NetworkHeartbeat, "host"),
    OBSERVATIONS: (StoreObservation, "observer"),
    FENCED: (FencedNotice, "host"),
    JOINS: (JoinRequest, "host"),
    REPORTS: (HostReport, "host"),
}


def decode_input(pattern: str, subject: str, data: bytes) -> BaseModel:
    """The message on `subject` (one of INPUTS' patterns), checked to be about the host its
    subject names: a collector speaks only for itself."""
    model, field = INPUTS[pattern]
    message = decode(model, data)
    named = subject_host(subject)
    said = getattr(message, field)
    if said != named:
        raise Malformed(f"{model.__name__} on {subject!r} speaks for {said!r}")
    return message
