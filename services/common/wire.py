"""The liveness protocol on the wire (docs/protocol.md): its subjects, and bytes to messages.

One place for what the collector and the arbiter must agree on. A message is the JSON form of
its pydantic model; what cannot be read raises `Malformed` with a one-line reason, which every
shell logs with the subject, counts and survives.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from services.common.subjects import decode_token, encode_token

BEACON = "ha.arb.beacon"
OP_STATUS = "ha.op.status"

# Per-host subjects: `ha.<kind>.<host token>`; subscribers use the `ha.<kind>.*` patterns.
HEARTBEATS = "ha.hb.*"
OBSERVATIONS = "ha.sto.*"
FENCED = "ha.fenced.*"
JOINS = "ha.join.*"
REPORTS = "ha.report.*"


def _per_host(kind: str, host: str) -> str:
    return f"ha.{kind}.{encode_token(host)}"


def heartbeat_subject(host: str) -> str:
    return _per_host("hb", host)


def observation_subject(host: str) -> str:
    return _per_host("sto", host)


def fenced_subject(host: str) -> str:
    return _per_host("fenced", host)


def join_subject(host: str) -> str:
    return _per_host("join", host)


def command_subject(host: str) -> str:
    return _per_host("cmd", host)


def report_subject(host: str) -> str:
    return _per_host("report", host)


def status_subject(host: str) -> str:
    return _per_host("status", host)


class Malformed(ValueError):
    """A message or KV value that cannot be read; the message says why, in one line."""


M = TypeVar("M", bound=BaseModel)


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


def subject_host(subject: str) -> str:
    """The host a per-host subject names; Malformed when its last token is no valid name."""
    try:
        return decode_token(subject.rsplit(".", 1)[-1])
    except (ValueError, UnicodeDecodeError):
        raise Malformed(f"subject {subject!r} does not name a host") from None
