"""`audit verify` checks the evidence of a slot-sourced fenced mark, not a summary of it: the
host's own signed record, against the key the replayed pool registers (docs/protocol.md,
Signed slots)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from schemas.events import EventDecodeError, HostDeclaredDead, HostJoined, decode_event
from schemas.liveness import FencedMark, SignedRecord
from services.audit import Entry, verify
from tests.fixtures.events import LAB_SIGNERS, join_record, slot_mark
from tests.unit.audit.logs import failover_log, fenced_evidence, tampered

# failover_log(fenced=True): 6 lab1 fenced (its slot, read by lab2), 7 lab1 declared dead.
FENCED, DEAD = 6, 7


def _problems(entries: list, seq: int) -> list[str]:  # type: ignore[type-arg]
    return [f.problem for f in verify(entries).differences if f.seq == seq]


def _forged_by_lab2() -> FencedMark:
    """lab1's fenced slot as lab2 would forge it: the same body, signed with lab2's key."""
    genuine = slot_mark()
    assert genuine.record is not None
    forged = LAB_SIGNERS["lab2"].sign(genuine.record.body)
    return genuine.model_copy(update={"record": forged})


def test_the_genuine_signed_mark_verifies() -> None:
    """lab1's own fenced slot, forwarded by lab2: the fenced mark and the declaration agree."""
    assert verify(failover_log(fenced=True).entries).ok


def test_a_declaration_on_a_forged_record_differs() -> None:
    """The record signed by lab2, not lab1: the mark and the declaration are both rejected."""
    mark = _forged_by_lab2()
    log = tampered(failover_log(fenced=True).entries, FENCED, mark=mark)
    log = tampered(log, DEAD, evidence=fenced_evidence(mark=mark))
    problem = "the mark's record is not signed by lab1's registered key"
    assert _problems(log, FENCED) == [problem]
    assert _problems(log, DEAD) == [problem]


def test_a_slot_mark_without_a_record_or_with_an_edited_one_differs() -> None:
    """A summary with no record (what logs held before signed slots), a record edited after
    signing, and a genuine record that does not say fenced: each is rejected."""
    bare = FencedMark(source="slot", observer="lab2", incarnation="boot-1")
    log = tampered(failover_log(fenced=True).entries, DEAD, evidence=fenced_evidence(mark=bare))
    assert _problems(log, DEAD) == ["the mark was read in a slot but carries no signed record"]

    genuine = slot_mark().record
    assert genuine is not None
    edited = SignedRecord(body=genuine.body.replace("812", "813"), sig=genuine.sig)
    mark = slot_mark().model_copy(update={"record": edited})
    log = tampered(failover_log(fenced=True).entries, DEAD, evidence=fenced_evidence(mark=mark))
    assert _problems(log, DEAD) == ["the mark's record is not signed by lab1's registered key"]

    unfenced_body = genuine.body.replace('"fenced":true', '"fenced":false')
    unfenced = LAB_SIGNERS["lab1"].sign(unfenced_body)
    mark = slot_mark().model_copy(update={"record": unfenced})
    log = tampered(failover_log(fenced=True).entries, DEAD, evidence=fenced_evidence(mark=mark))
    assert _problems(log, DEAD) == ["the mark's record does not say fenced"]


def _stored(event: Any, *, version: int, unsigned: bool = False, claim_old: bool = False) -> str:
    """`event` as a stored payload of schema `version`; its slot mark without a record when
    `unsigned`, and claiming to be from before signed slots when `claim_old`."""
    payload = event.model_dump(mode="json")
    payload["schema_version"] = version
    mark = payload["mark"] if "mark" in payload else payload["evidence"]["fenced_mark"]
    if unsigned:
        mark["record"] = None
    if claim_old:
        mark["before_signed_slots"] = True
    return json.dumps(payload)


def _reread(entries: list[Entry], version: int, **how: bool) -> list[Entry]:
    """The log with its fenced mark and declaration stored at `version` and read back."""
    out = list(entries)
    for seq in (FENCED, DEAD):
        out[seq - 1] = Entry(seq, decode_event(_stored(out[seq - 1].event, version=version, **how)))
    return out


def test_a_log_written_before_signed_slots_verifies_with_its_marks_unconfirmed() -> None:
    """Version 1 fenced mark and declaration, whose slot mark has no record (as every such mark
    was), read back through the upcasters: the log verifies, and each mark is reported as one
    the audit could not check rather than as a difference."""
    log = _reread(failover_log(fenced=True).entries, version=1, unsigned=True)
    report = verify(log)
    assert report.ok, report.differences
    unsure = {(f.seq, f.problem) for f in report.unconfirmed}
    why = "the mark was read in a slot before slots were signed: no record to check"
    assert {(FENCED, why), (DEAD, why)} <= unsure


def test_a_new_log_cannot_pass_an_unsigned_or_forged_mark_off_as_old() -> None:
    """In version 2 events a slot mark without a record differs, a forged record differs, and
    a payload claiming its mark is from before signed slots is not readable at all."""
    entries = failover_log(fenced=True).entries
    bare = _reread(entries, version=2, unsigned=True)
    assert _problems(bare, DEAD) == ["the mark was read in a slot but carries no signed record"]

    mark = _forged_by_lab2()
    forged = tampered(entries, FENCED, mark=mark)
    forged = _reread(tampered(forged, DEAD, evidence=fenced_evidence(mark=mark)), version=2)
    problem = "the mark's record is not signed by lab1's registered key"
    assert _problems(forged, FENCED) == [problem]
    assert _problems(forged, DEAD) == [problem]

    for event in (entries[FENCED - 1].event, entries[DEAD - 1].event):
        claim = _stored(event, version=2, unsigned=True, claim_old=True)
        with pytest.raises(EventDecodeError, match="only set by upcasting"):
            decode_event(claim)


def test_a_mark_resting_on_an_incarnation_already_declared_dead_differs() -> None:
    """lab1's boot-1 is declared dead, lab1 rejoins as boot-2, and boot-2 is then declared
    dead on boot-1's genuine signed slot: a buried incarnation's record backs no mark."""
    log = failover_log()  # 6: lab1 (boot-1) declared dead by timeout
    log.add(HostJoined, host="lab1", incarnation="boot-2", record=join_record("lab1", "boot-2"))
    stale = slot_mark(incarnation="boot-1").model_copy(update={"incarnation": "boot-2"})
    log.add(HostDeclaredDead, host="lab1", evidence=fenced_evidence("boot-2", mark=stale))
    problems = _problems(log.entries, log.seq)
    assert problems == ["the mark's record is of incarnation boot-1, already declared dead"]
