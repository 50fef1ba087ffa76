"""Power fencing in the arbiter core (services.arbiter.power, docs/protocol.md, Power fencing
through the BMC): which suspected hosts get a power-off order, and which answers declare them
dead (rule power_off), with the answer in the evidence."""

from __future__ import annotations

import pytest

from schemas.fencing import FencingAgent
from schemas.liveness import DeadEvidence, PowerOffProof
from schemas.pool import Pool
from schemas.slot import Slot
from services.arbiter.core import Arbiter
from services.arbiter.power import PowerOffOrder
from services.arbiter.rules import rule_holds
from services.arbiter.view import PoolConfig
from tests.unit.arbiter.helpers import HOSTS, JOINED, POOL, SIGNERS, T_DEAD, TIMERS, Clock, T

AGENT = FencingAgent(kind="redfish", address="https://bmc-a", credential="env:BMC_A")
CHAINED = POOL.model_copy(
    update={
        "hosts": tuple(
            h.model_copy(update={"fencing": (AGENT,)}) if h.name == "a" else h for h in POOL.hosts
        )
    }
)


def proof(state: str = "off", inc: str = "a#1") -> PowerOffProof:
    return PowerOffProof(
        agent=AGENT.label, level=1, incarnation=inc, answer="accepted", power_state=state,
        answered_after_s=0.4,
    )  # fmt: skip


def evidence(power_off: PowerOffProof | None, leader_for: float = 1.0) -> DeadEvidence:
    return DeadEvidence(
        rule="power_off", incarnation="a#1", t_dead_s=T_DEAD, leader_for_s=leader_for,
        lease_silent_for_s=1.0, power_off=power_off,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("answer", "holds"),
    [(proof(), True), (proof("on"), False), (proof("unknown"), False),
     (proof(inc="a#0"), False), (None, False)],
)  # fmt: skip
def test_the_power_off_rule_holds_only_on_an_off_status_of_this_incarnation(
    answer: PowerOffProof | None, holds: bool
) -> None:
    """A status read that says "off", for the declared incarnation, is proof; "on", no answer,
    or another incarnation's answer is not. It needs neither T_dead of leadership nor of
    silence: a powered-off host is dead whatever the leader has seen of it."""
    assert rule_holds(evidence(answer), TIMERS) is holds
    assert rule_holds(evidence(answer, leader_for=0.0), TIMERS) is holds


def reader(pool: Pool = CHAINED) -> Clock:
    arb = Arbiter("arb", pool, TIMERS, reads_store=True)
    arb.gain_leadership(0.0, 1, JOINED)
    return Clock(arb)


def read(clock: Clock, seqs: dict[str, int]) -> None:
    slots = []
    for host, seq in seqs.items():
        s = Slot(host=host, incarnation=f"{host}#1", seq=seq, uptime_s=0.0, lease_ok=True,
                 store_ok=True)  # fmt: skip
        slots.append((s, SIGNERS[host].sign(s.model_dump_json())))
    clock.arb.store_read(slots, clock.now + 1)


WARM = T_DEAD + 1  # the leader has led for T_dead when a goes silent


def silence_a(clock: Clock, *, slot_moves: bool, until: float) -> list[PowerOffOrder]:
    """After the leader's warm-up (every slot advancing), a goes silent on the bus at WARM;
    its slot stops too unless `slot_moves`. The orders given until WARM + `until`."""
    orders: list[PowerOffOrder] = []
    seq = int(clock.now)
    while clock.now < WARM + until:
        seq += 1
        if clock.now >= WARM:
            clock.alive.discard("a")
        a_moves = slot_moves or clock.now < WARM
        read(clock, {"a": seq if a_moves else WARM_SEQ, "b": seq, "c": seq})
        orders += clock.step().power_offs
    return orders


WARM_SEQ = int(WARM)  # the last seq a writes before it stops


def test_a_suspected_host_whose_slot_stood_still_for_t_is_ordered_off_once() -> None:
    """a is silent and its slot still: one order once it is suspected and still for T, none
    again while the answer is awaited; b and c, alive and without a chain, get none."""
    clock = reader()
    orders = silence_a(clock, slot_moves=False, until=T + 2)
    assert orders == [PowerOffOrder("a", "a#1")]
    assert clock.dead() == []  # no answer yet: nothing declared


def test_a_host_that_keeps_writing_its_slot_is_not_ordered_off() -> None:
    """a's lease is silent but its slot advances in the leader's own reads: it is alive (cut
    from the bus, it fences on its own): no order."""
    assert silence_a(reader(), slot_moves=True, until=T + 10) == []


def test_a_host_without_a_chain_or_in_maintenance_is_not_ordered_off() -> None:
    """Without a chain the old path alone; a host in maintenance is not judged for silence."""
    assert silence_a(reader(POOL), slot_moves=False, until=T + 2) == []
    clock = reader()
    clock.arb.configure(PoolConfig(CHAINED.hosts, frozenset({"a"}), CHAINED.vms, True), 0.5)
    assert silence_a(clock, slot_moves=False, until=T + 2) == []


@pytest.mark.parametrize(("state", "rule"), [("off", "power_off"), ("on", "timeout")])
def test_the_answer_declares_at_once_or_leaves_the_timeout_path(state: str, rule: str) -> None:
    """Answered "off": a is declared dead at the next tick, rule power_off, the answer in the
    evidence, before T_dead. Answered "on": nothing until the timeout path after T_dead."""
    clock = reader()
    silence_a(clock, slot_moves=False, until=T + 2)
    assert clock.arb.power_off_answer("a", proof(state), clock.now)
    answered_at = clock.now
    silence_a(clock, slot_moves=False, until=T_DEAD + 5)
    [dead] = clock.dead()
    assert dead.host == "a" and dead.evidence.rule == rule
    assert rule_holds(dead.evidence, TIMERS)
    if state == "off":
        assert dead.evidence.power_off == proof()
        assert dead.evidence.lease_silent_for_s < T_DEAD
        assert dead.evidence.lease_silent_for_s <= answered_at - WARM + 1  # the next tick
        assert not any(o.host == "a" for o in clock.last.power_offs)
    else:
        assert dead.evidence.power_off is None


def test_an_answer_without_an_order_or_for_another_incarnation_is_not_taken() -> None:
    """Only the answer to this leader's pending order counts."""
    clock = reader()
    clock.step()
    assert not clock.arb.power_off_answer("a", proof(), clock.now)  # nothing ordered
    silence_a(clock, slot_moves=False, until=T + 2)
    assert not clock.arb.power_off_answer("a", proof(inc="a#0"), clock.now)
    clock.arb.lose_leadership()
    assert not clock.arb.power_off_answer("a", proof(), clock.now)


def test_no_order_while_the_guard_against_mass_suspicion_holds() -> None:
    """Every host but one goes silent together: the guard engages, and no BMC is asked to
    power anyone off (the leader's inputs are more likely broken than the hosts)."""
    pool = CHAINED.model_copy(
        update={"hosts": tuple(h.model_copy(update={"fencing": (AGENT,)}) for h in POOL.hosts)}
    )
    clock = reader(pool)
    orders: list[PowerOffOrder] = []
    while clock.now < WARM + T + 6:
        if clock.now >= WARM:
            clock.alive -= {"a", "b"}
        read(clock, {h: min(int(clock.now), int(WARM)) for h in HOSTS})
        orders += clock.step().power_offs
    assert clock.arb.view.guarded
    assert orders == []
