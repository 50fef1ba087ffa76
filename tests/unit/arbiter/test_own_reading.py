"""The arbiter core with its own reading of the store: a collector's "still" claim no longer
declares anyone dead; the leader's own reading does, and its evidence records it."""

from __future__ import annotations

from schemas.slot import Slot
from services.arbiter.core import Arbiter
from services.arbiter.rules import rule_holds
from tests.unit.arbiter.helpers import JOINED, POOL, SIGNERS, T_DEAD, TIMERS, Clock, observation
from tests.unit.arbiter.helpers import reading as collector_reading


def reader() -> Arbiter:
    arb = Arbiter("arb", POOL, TIMERS, reads_store=True)
    arb.gain_leadership(0.0, 1, JOINED)
    return arb


def read_store(arb: Arbiter, now: float, seqs: dict[str, int]) -> None:
    """The leader's own read of the store: each host's slot at `seqs[host]`, signed by it."""
    slots = []
    for host, seq in seqs.items():
        s = Slot(host=host, incarnation=f"{host}#1", seq=seq, uptime_s=0.0, lease_ok=True,
                 store_ok=True)  # fmt: skip
        slots.append((s, SIGNERS[host].sign(s.model_dump_json())))
    arb.store_read(slots, now)


def test_a_collectors_still_claim_declares_nothing_while_the_slot_advances() -> None:
    """a's lease is silent and b says a's slot has been still for an hour, every interval; the
    leader's own reads show a's slot advancing: a is never declared dead."""
    clock = Clock(reader())
    clock.alive.discard("a")
    for seq in range(1, 120):
        read_store(clock.arb, clock.now + 1, {"a": seq, "b": seq, "c": seq})
        clock.step(observation("b", clock.beacon, collector_reading("a", 3600.0)))
    assert clock.dead() == []


def test_the_leaders_own_still_reading_declares_a_silent_host_and_is_recorded() -> None:
    """a's lease is silent and its slot stops advancing in the leader's own reads: a is
    declared dead by timeout once both have lasted T_dead; the evidence carries the leader's
    reading (seq, record, still for T_dead) and passes the re-check."""
    clock = Clock(reader())
    clock.run_until(T_DEAD + 1)
    clock.alive.discard("a")
    stopped = clock.now
    seq = 0
    while not clock.dead():
        seq += 1
        read_store(clock.arb, clock.now + 1, {"a": 7, "b": seq, "c": seq})
        clock.step()
        assert clock.now < stopped + T_DEAD + 3
    [dead] = clock.dead()
    own = dead.evidence.own_store
    assert dead.evidence.rule == "timeout" and own is not None and own.slot is not None
    assert own.slot.seq == 7 and own.slot.record is not None
    assert own.slot.still_for_s >= T_DEAD
    assert rule_holds(dead.evidence, TIMERS)


def test_every_holders_outage_needs_the_leaders_own_outage_too() -> None:
    """Every lease holder says the store is unreachable while the leader reads it (a's slot
    advancing): nothing is declared; once the leader's own reads fail for T_dead too, the
    silent host is."""
    clock = Clock(reader())
    clock.run_until(T_DEAD + 1)
    clock.alive.discard("a")
    for seq in range(1, 40):
        read_store(clock.arb, clock.now + 1, {"a": seq})
        clock.step(observation("b", clock.beacon, unreachable=500.0),
                   observation("c", clock.beacon, unreachable=500.0))  # fmt: skip
    assert clock.dead() == []
    failing_from = clock.now + 1
    while not clock.dead():
        clock.arb.store_read(None, clock.now + 1)
        clock.step(observation("b", clock.beacon, unreachable=500.0),
                   observation("c", clock.beacon, unreachable=500.0))  # fmt: skip
        assert clock.now < failing_from + T_DEAD + 3
    [dead] = clock.dead()
    own = dead.evidence.own_store
    assert own is not None and own.unreachable_for_s is not None
    assert own.unreachable_for_s >= T_DEAD
    assert rule_holds(dead.evidence, TIMERS)
