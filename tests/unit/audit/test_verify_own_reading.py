"""`audit verify` re-checks a timeout declaration made on the leader's own reading of the
store (event schema version 3): the rule on the recorded reading, and the reading's record
against the host's registered key (docs/protocol.md, The leader reads the store itself)."""

from __future__ import annotations

from schemas.liveness import DeadEvidence, OwnSlotReading, OwnStoreReading, SignedRecord
from schemas.slot import Slot
from services.audit import verify
from tests.fixtures.events import LAB_SIGNERS
from tests.unit.audit.logs import failover_log, tampered, timeout_evidence

DEAD = 6  # failover_log(): 6 lab1 declared dead (by timeout)


def _record(signer: str = "lab1", seq: int = 812) -> SignedRecord:
    slot = Slot(host="lab1", incarnation="boot-1", seq=seq, uptime_s=600.0, lease_ok=True,
                store_ok=True)  # fmt: skip
    return LAB_SIGNERS[signer].sign(slot.model_dump_json())


def _own(still: float, record: SignedRecord | None, seq: int = 812) -> DeadEvidence:
    """lab1's timeout evidence with the leader's own reading: slot `seq` still for `still`."""
    slot = OwnSlotReading(incarnation="boot-1", seq=seq, record=record, still_for_s=still)
    return timeout_evidence().model_copy(update={"own_store": OwnStoreReading(slot=slot)})


def _problems(evidence: DeadEvidence) -> list[str]:
    log = tampered(failover_log().entries, DEAD, evidence=evidence)
    return [f.problem for f in verify(log).differences if f.seq == DEAD]


def test_a_declaration_on_the_leaders_own_still_reading_verifies() -> None:
    """lab1's own signed slot, still for T_dead on the leader's clock: the declaration holds."""
    evidence = _own(timeout_evidence().lease_silent_for_s, _record())
    assert _problems(evidence) == []


def test_a_collectors_still_claim_does_not_hold_against_the_leaders_own_reading() -> None:
    """A collector said the slot was still for T_dead, but the leader's own reading shows it
    advanced 2 s ago: the rule does not hold (a collector's word decides nothing)."""
    problems = _problems(_own(2.0, _record()))
    assert len(problems) == 1 and "rule 'timeout' does not hold" in problems[0]


def test_a_reading_whose_record_is_forged_edited_or_missing_differs() -> None:
    """The leader's reading must rest on lab1's own signed slot of that seq: a record signed
    by lab2, a record of another seq, or none at all is rejected."""
    still = timeout_evidence().lease_silent_for_s
    assert _problems(_own(still, _record(signer="lab2"))) == [
        "the leader's reading of lab1's slot is not signed by its registered key"
    ]
    assert _problems(_own(still, _record(seq=700))) == [
        "the leader's reading does not say what the signed record says"
    ]
    assert _problems(_own(still, None)) == [
        "the leader's reading of lab1's slot carries no signed record"
    ]
