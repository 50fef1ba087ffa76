"""The collector's subjects, and the checks every incoming message passes before the core sees
it (schemas/messages.py and schemas/reports.py describe the messages).

A message that fails a check raises `Malformed` with a one-line reason; the shell logs it with
its subject, counts it and carries on.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from schemas.messages import Beacon, NetworkHeartbeat
from schemas.reports import Command, CommandDecodeError, decode_command
from services.common.subjects import decode_token, encode_token

BEACON = "ha.arb.beacon"
HEARTBEATS = "ha.hb.*"


def heartbeat_subject(host: str) -> str:
    return f"ha.hb.{encode_token(host)}"


def observation_subject(host: str) -> str:
    return f"ha.sto.{encode_token(host)}"


def fenced_subject(host: str) -> str:
    return f"ha.fenced.{encode_token(host)}"


def join_subject(host: str) -> str:
    return f"ha.join.{encode_token(host)}"


def command_subject(host: str) -> str:
    return f"ha.cmd.{encode_token(host)}"


def report_subject(host: str) -> str:
    return f"ha.report.{encode_token(host)}"


def status_subject(host: str) -> str:
    return f"ha.status.{encode_token(host)}"


class Malformed(ValueError):
    """An incoming message the collector cannot use; the message is the reason."""


M = TypeVar("M", bound=BaseModel)


def _validate(model: type[M], data: bytes) -> M:
    try:
        return model.model_validate_json(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"])
        raise Malformed(
            f"not a {model.__name__}: " + (f"{where}: " if where else "") + str(err["msg"])
        ) from None


def decode_heartbeat(subject: str, data: bytes, pool_hosts: frozenset[str]) -> NetworkHeartbeat:
    """A peer's heartbeat: it must come from its own subject and name a host of the pool (a
    stray sender claiming `store_ok` must not keep this host from fencing, or make it fence)."""
    hb = _validate(NetworkHeartbeat, data)
    try:
        sender = decode_token(subject.rsplit(".", 1)[-1])
    except (ValueError, UnicodeDecodeError):
        raise Malformed("the subject's host token is not a valid encoding") from None
    if sender != hb.host:
        raise Malformed(f"heartbeat of host {hb.host!r} on the subject of {sender!r}")
    if hb.host not in pool_hosts:
        raise Malformed(f"heartbeat of host {hb.host!r}, which is not in the pool")
    return hb


def decode_beacon(data: bytes) -> Beacon:
    return _validate(Beacon, data)


def decode_order(data: bytes, host: str) -> Command:
    """A command on this host's subject; one addressed to another host is malformed."""
    try:
        command = decode_command(data)
    except CommandDecodeError as exc:
        raise Malformed(str(exc)) from None
    if command.host != host:
        raise Malformed(f"command for host {command.host!r} on the subject of {host!r}")
    return command
