"""The collector's side of the bus protocol (subjects in services.common.wire), and the checks
every incoming message passes before the core sees it (schemas/messages.py and
schemas/reports.py describe the messages).

A message that fails a check raises `Malformed` with a one-line reason; the shell logs it with
its subject, counts it and carries on.
"""

from __future__ import annotations

from schemas.messages import Beacon, NetworkHeartbeat
from schemas.reports import Command, CommandDecodeError, decode_command
from services.common.wire import (
    BEACON,
    HEARTBEATS,
    Malformed,
    command_subject,
    decode,
    fenced_subject,
    heartbeat_subject,
    join_subject,
    observation_subject,
    report_subject,
    status_subject,
    subject_host,
)

__all__ = [
    "BEACON",
    "HEARTBEATS",
    "Malformed",
    "command_subject",
    "decode_beacon",
    "decode_heartbeat",
    "decode_order",
    "fenced_subject",
    "heartbeat_subject",
    "join_subject",
    "observation_subject",
    "report_subject",
    "status_subject",
]


def decode_heartbeat(subject: str, data: bytes, pool_hosts: frozenset[str]) -> NetworkHeartbeat:
    """A peer's heartbeat: it must come from its own subject and name a host of the pool (a
    stray sender claiming `store_ok` must not keep this host from fencing, or make it fence)."""
    hb = decode(NetworkHeartbeat, data)
    sender = subject_host(subject)
    if sender != hb.host:
        raise Malformed(f"heartbeat of host {hb.host!r} on the subject of {sender!r}")
    if hb.host not in pool_hosts:
        raise Malformed(f"heartbeat of host {hb.host!r}, which is not in the pool")
    return hb


def decode_beacon(data: bytes) -> Beacon:
    return decode(Beacon, data)


def decode_order(data: bytes, host: str) -> Command:
    """A command on this host's subject; one addressed to another host is malformed."""
    try:
        command = decode_command(data)
    except CommandDecodeError as exc:
        raise Malformed(str(exc)) from None
    if command.host != host:
        raise Malformed(f"command for host {command.host!r} on the subject of {host!r}")
    return command
