"""`audit verify` checks `host_joined` too: a keyed host's join rests on its new incarnation's
own signed slot, checked against the key the replayed pool registers, and a new incarnation
joins only once the one the log knows is declared dead (docs/protocol.md, Signed slots)."""

from __future__ import annotations

import json

import pytest

from schemas.events import EventDecodeError, HostExcluded, HostJoined, decode_event
from schemas.slot import Slot
from services.audit import Entry, verify
from tests.fixtures.events import LAB_SIGNERS, join_record
from tests.unit.audit.logs import LogBuilder, failover_log, tampered

# failover_log(): 2 lab1 joins (boot-1), 3 lab2 joins (boot-7), 6 lab1 declared dead.
LAB1_JOIN, REJOIN = 2, 10


def _problems(entries: list[Entry], seq: int) -> list[str]:
    return [f.problem for f in verify(entries).differences if f.seq == seq]


def _rebooted() -> LogBuilder:
    """The failover, then lab1's next incarnation boot-2 joins (sequence 10), genuinely."""
    log = failover_log()
    log.add(HostJoined, host="lab1", incarnation="boot-2", record=join_record("lab1", "boot-2"))
    assert log.seq == REJOIN
    return log


def _slot(incarnation: str = "boot-2", fenced: bool = False) -> str:
    return Slot(host="lab1", incarnation=incarnation, seq=1, uptime_s=1.0, lease_ok=True,
                store_ok=True, fenced=fenced).model_dump_json()  # fmt: skip


def test_genuine_joins_verify() -> None:
    """The first joins of lab1 and lab2 and lab1's next incarnation after it was declared
    dead, each with its own signed slot: no difference, nothing unconfirmed."""
    report = verify(_rebooted().entries)
    assert report.ok and report.unconfirmed == [], report.differences
    assert report.checked["host_joined"] == 3


def test_a_join_on_a_record_signed_by_another_host_differs() -> None:
    """lab1's next incarnation's slot signed with lab2's key (what lab2's credential could
    forge): rejected, naming the key it does not verify against."""
    forged = LAB_SIGNERS["lab2"].sign(_slot())
    log = tampered(_rebooted().entries, REJOIN, record=forged.model_dump())
    assert _problems(log, REJOIN) == ["the join's record is not signed by lab1's registered key"]


def test_a_join_without_a_record_or_on_the_wrong_slot_differs() -> None:
    """No record at all; lab1's genuine slot of another incarnation; its genuine fenced slot:
    none of them backs the join of boot-2."""
    entries = _rebooted().entries
    bare = tampered(entries, REJOIN, record=None)
    assert _problems(bare, REJOIN) == [
        "the join carries no signed record of the incarnation's slot"
    ]
    other = LAB_SIGNERS["lab1"].sign(_slot("boot-3")).model_dump()
    assert _problems(tampered(entries, REJOIN, record=other), REJOIN) == [
        "the join's record is of incarnation boot-3, not boot-2"
    ]
    fenced = LAB_SIGNERS["lab1"].sign(_slot(fenced=True)).model_dump()
    assert _problems(tampered(entries, REJOIN, record=fenced), REJOIN) == [
        "the join's record says fenced"
    ]


def test_a_new_incarnation_joining_before_the_old_one_is_dead_differs() -> None:
    """lab2's boot-8 recorded as joined while boot-7 is live, though genuinely signed: the
    arbiter only marks boot-7 fenced then, and a dead incarnation never joins again."""
    log = failover_log()
    log.add(HostJoined, host="lab2", incarnation="boot-8", record=join_record("lab2", "boot-8"))
    assert _problems(log.entries, log.seq) == [
        "incarnation boot-8 joined while boot-7 was not declared dead (a later incarnation's "
        "join only marks the earlier one fenced)"
    ]
    again = failover_log()
    again.add(HostJoined, host="lab1", incarnation="boot-1", record=join_record("lab1", "boot-1"))
    assert _problems(again.entries, again.seq) == [
        "incarnation boot-1 was declared dead: it never joins again"
    ]


def test_leaving_maintenance_needs_no_new_record() -> None:
    """The leader's re-join of lab2's current incarnation when it leaves maintenance carries
    no record (its join was checked when it joined): it verifies."""
    log = failover_log()
    log.add(HostExcluded, epoch=0, host="lab2", reason="maintenance")
    log.add(HostJoined, host="lab2", incarnation="boot-7")
    assert _problems(log.entries, log.seq) == []


def _as_v1(event: HostJoined, **extra: object) -> str:
    payload = event.model_dump(mode="json")
    del payload["record"]
    return json.dumps({**payload, "schema_version": 1, **extra})


def test_a_log_written_before_signed_joins_verifies_with_its_joins_unconfirmed() -> None:
    """Version 1 joins (no record) read back through the upcaster: the log verifies, and
    each join of a keyed host is reported as unchecked, not as a difference; a version 2
    payload claiming to be from before signed slots is unreadable."""
    entries = list(failover_log().entries)
    for seq in (2, 3):
        entries[seq - 1] = Entry(seq, decode_event(_as_v1(entries[seq - 1].event)))
    report = verify(entries)
    assert report.ok, report.differences
    why = "the join was recorded before joins carried a signed record: nothing to check"
    assert {(f.seq, f.problem) for f in report.unconfirmed} == {(2, why), (3, why)}
    claim = json.loads(_as_v1(entries[1].event))
    claim.update(schema_version=2, before_signed_slots=True)
    with pytest.raises(EventDecodeError, match="only set by upcasting"):
        decode_event(json.dumps(claim))
