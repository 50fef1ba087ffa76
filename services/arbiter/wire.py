"""The arbiter's side of the bus protocol (schemas/messages.py): subjects, and messages to and
from bytes. A message is the JSON form of its pydantic model; what cannot be read is refused
with a one-line reason (`Malformed`), which the shell logs and counts, never a crash.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from schemas.messages import FencedNotice, JoinRequest, NetworkHeartbeat, StoreObservation
from services.common.subjects import decode_token, encode_token

HEARTBEATS = "ha.hb.*"
OBSERVATIONS = "ha.sto.*"
FENCED = "ha.fenced.*"
JOINS = "ha.join.*"
BEACON = "ha.arb.beacon"
STATUS = "ha.op.status"

M = TypeVar("M", bound=BaseModel)

# What each subscribed subject carries, and the field that must name the subject's host.
INPUTS: dict[str, tuple[type[BaseModel], str]] = {
    HEARTBEATS: (NetworkHeartbeat, "host"),
    OBSERVATIONS: (StoreObservation, "observer"),
    FENCED: (FencedNotice, "host"),
    JOINS: (JoinRequest, "host"),
}


class Malformed(ValueError):
    """A message or KV value that cannot be read; the message says why, in one line."""


def command_subject(host: str) -> str:
    return f"ha.cmd.{encode_token(host)}"


def encode(message: BaseModel) -> bytes:
    return message.model_dump_json().encode()


def decode(model: type[M], data: bytes) -> M:
    try:
        return model.model_validate_json(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(step) for step in err["loc"])
        why = f"{where}: {err['msg']}" if where else str(err["msg"])
        raise Malformed(f"not a valid {model.__name__}: {why}") from None


def decode_input(pattern: str, subject: str, data: bytes) -> BaseModel:
    """The message on `subject` (one of INPUTS' patterns), checked to be about the host its
    subject names: a collector speaks only for itself."""
    model, field = INPUTS[pattern]
    message = decode(model, data)
    token = subject.rsplit(".", 1)[-1]
    try:
        named = decode_token(token)
    except (ValueError, UnicodeDecodeError):
        raise Malformed(f"subject {subject!r} does not name a host") from None
    said = getattr(message, field)
    if said != named:
        raise Malformed(f"{model.__name__} on {subject!r} speaks for {said!r}")
    return message
