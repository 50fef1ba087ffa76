"""The collector's message contracts: commands told apart on ha.cmd.<host>, heartbeats checked
against their subject and the pool, exit causes the same as the drivers'."""

from __future__ import annotations

from typing import get_args

import pytest

from schemas.messages import JoinAccepted, NetworkHeartbeat, StartOrder
from schemas.reports import CommandDecodeError, ExitCause, StopOrder, decode_command
from services.collector import wire
from services.drivers import base

POOL = frozenset({"lab1", "Minion host 1"})


def test_each_command_decodes_as_itself_and_only_itself() -> None:
    """A StartOrder, a StopOrder and a JoinAccepted each come back as their own type, though a
    StopOrder carries every field of a StartOrder."""
    start = StartOrder(order_id="o", vm="v", host="lab1", incarnation="i")
    stop = StopOrder(action="shutdown", order_id="o", vm="v", host="lab1", incarnation="i")
    joined = JoinAccepted(host="lab1", incarnation="i")
    for command in (start, stop, joined):
        decoded = decode_command(command.model_dump_json().encode())
        assert type(decoded) is type(command) and decoded == command


@pytest.mark.parametrize(
    "payload",
    [b"", b"\xff", b"[]", b"{}", b'{"host":"lab1"}', b'{"action":"reboot","order_id":"o",'
     b'"vm":"v","host":"lab1","incarnation":"i"}'],
)  # fmt: skip
def test_anything_else_on_the_command_subject_is_refused_with_a_reason(payload: bytes) -> None:
    """Bytes that are none of the commands raise one error that names what was expected."""
    with pytest.raises(CommandDecodeError, match="not a StartOrder, StopOrder or JoinAccepted"):
        decode_command(payload)


def test_a_command_for_another_host_is_malformed() -> None:
    """An order naming another host on this host's subject is dropped as malformed."""
    order = StartOrder(order_id="o", vm="v", host="lab2", incarnation="i")
    with pytest.raises(wire.Malformed, match="for host 'lab2'"):
        wire.decode_order(order.model_dump_json().encode(), "lab1")


def test_a_heartbeat_must_come_from_its_hosts_subject_and_the_pool() -> None:
    """A heartbeat is accepted on its own host's subject (names encoded as tokens); one sent on
    another host's subject, or from a host outside the pool, is malformed."""
    hb = NetworkHeartbeat(host="Minion host 1", incarnation="i", seq=1, lease_ok=True,
                          store_ok=False)  # fmt: skip
    data = hb.model_dump_json().encode()
    assert wire.decode_heartbeat(wire.heartbeat_subject("Minion host 1"), data, POOL) == hb
    with pytest.raises(wire.Malformed, match="on the subject of 'lab1'"):
        wire.decode_heartbeat(wire.heartbeat_subject("lab1"), data, POOL)
    with pytest.raises(wire.Malformed, match="not in the pool"):
        wire.decode_heartbeat(wire.heartbeat_subject("Minion host 1"), data, frozenset({"lab1"}))
    with pytest.raises(wire.Malformed, match="not a valid NetworkHeartbeat"):
        wire.decode_heartbeat("ha.hb.lab1", b'{"host": "lab1"}', POOL)


def test_exit_causes_are_the_drivers_causes() -> None:
    """The causes a host report may carry are exactly those the VM drivers produce, plus
    `fenced`, which the collector gives the exits of its own fence (never a VM lost on a
    healthy host)."""
    assert get_args(ExitCause) == (*get_args(base.ExitCause), "fenced")
