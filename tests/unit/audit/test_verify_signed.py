"""`audit verify` checks the evidence of a slot-sourced fenced mark, not a summary of it: the
host's own signed record, against the key the replayed pool registers (docs/protocol.md,
Signed slots)."""

from __future__ import annotations

from schemas.liveness import FencedMark, SignedRecord
from services.audit import verify
from tests.fixtures.events import LAB_SIGNERS, slot_mark
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
