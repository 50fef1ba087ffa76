"""`explain VM`: the chain from the failure, its evidence and the decision, through the plan
and the constraints of each order, to the start; and the VMs that never moved."""

from __future__ import annotations

from schemas.events import (
    HostDeclaredDead,
    HostJoined,
    VMHaltedByGuest,
    VMProtectionSet,
    VMRestartOrdered,
    VMShutDownByAdmin,
    VMStarted,
    VMUnplaceable,
)
from services.audit import Explanation, explain
from tests.fixtures.events import join_record
from tests.unit.audit.logs import (
    LogBuilder,
    failover_log,
    rack_failover_log,
    timeout_evidence,
)


def explained(log: LogBuilder, vm: str) -> Explanation:
    x = explain(log.entries, vm)
    assert x is not None
    return x


def roles(x: Explanation) -> list[tuple[int, str]]:
    return [(s.seq, s.role) for s in x.chain]


def test_power_failover_chain_from_suspicion_to_start() -> None:
    """After lab1's power loss Minion 1 runs on lab2; the chain is lab1's suspicion and death
    with the evidence, the plan in effect, the order with its constraints, and the start."""
    x = explained(failover_log(), "Minion 1")
    assert (x.host, x.power_state) == ("lab2", "running")
    assert roles(x) == [(5, "suspected"), (6, "declared dead"), (4, "plan in effect"),
                        (7, "ordered"), (8, "started")]  # fmt: skip
    assert x.verdict == (
        "It runs on lab2 since sequence 8: restarted after lab1 was declared dead at sequence 6."
    )
    dead = dict(x.chain[1].facts)
    assert dead["rule"] == "timeout"
    assert dead["lease silent for"] == "43 s (T_dead 42 s)"
    assert dead["slot"] == "lab2 saw slot seq 812 not advance for 43 s"
    order = dict(x.chain[3].facts)
    assert order["memory"] == "needs 4160 MiB, lab2 had 30720 MiB free"
    assert order["target"].startswith("lab2, a liveset member; order for incarnation boot-7")
    assert order["other liveset members"] == "none"
    assert order["plan"].endswith("(sequence 4)")
    assert x.earlier_losses == 0


def test_fenced_failover_shows_the_mark() -> None:
    """When lab1 fenced itself the chain has the fenced step with its mark, and the death's
    evidence names the fast-path rule and the mark."""
    x = explained(failover_log(fenced=True), "Minion 1")
    assert [r for _, r in roles(x)][:3] == ["suspected", "fenced", "declared dead"]
    assert dict(x.chain[1].facts)["mark"] == "on the slot, read by lab2, incarnation boot-1"
    dead = dict(x.chain[2].facts)
    assert dead["rule"] == "fenced"
    assert dead["lease renewed since the mark"] == "no"


def test_order_constraints_name_anti_affinity_and_restart_order() -> None:
    """Web 1 went to "h 3": its facts say h2.rack7 already runs Web 2 of group web, that
    db.primary (order 0) was ordered before it, and how much room "h 3" had."""
    x = explained(rack_failover_log(), "Web 1")
    assert x.host == "h 3"
    order = dict(next(s for s in x.chain if s.role == "ordered").facts)
    assert order["anti-affinity"] == "anti-affinity group web: no member on h 3"
    assert order["other liveset members"] == (
        "h2.rack7: anti-affinity group web: h2.rack7 already has 'Web 2'"
    )
    assert order["ordered before it"] == "'db.primary' (order 0)"
    assert order["memory"] == "needs 4096 MiB, h 3 had 21504 MiB free"
    assert order["restart order"] == "priority restart, order 1, start delay 2.5 s"
    db = dict(next(s for s in explained(rack_failover_log(), "db.primary").chain
                   if s.role == "ordered").facts)  # fmt: skip
    assert "ordered before it" not in db
    assert db["other liveset members"] == "h 3: would fit too"


def test_a_vm_that_never_moved_shows_its_creation_and_protection() -> None:
    """Web 2 never left h2.rack7: no chain, its creation and protection changes instead."""
    log = rack_failover_log()
    log.add(VMProtectionSet, vm="Web 2", ha_restart_priority="best-effort", order=3)
    x = explained(log, "Web 2")
    assert x.chain == ()
    assert x.created is not None and x.created.seq == 1
    assert [(s.seq, s.role) for s in x.configuration] == [(10, "protection")]
    assert dict(x.protection)["ha_restart_priority"] == "best-effort"
    assert dict(x.protection)["order"] == "3"
    assert x.verdict == "It runs on h2.rack7 since it was created (sequence 1); it never moved."


def test_halted_restarting_and_unplaceable_vms() -> None:
    """The verdict follows the VM's state: an admin shutdown, an order not started yet, a
    VM waiting for room."""
    log = failover_log()
    log.add(VMShutDownByAdmin, vm="Minion 1")
    x = explained(log, "Minion 1")
    assert x.verdict == "It is halted: an admin shut it down, and HA does not restart it."
    assert roles(x)[-1] == (10, "stopped")  # HA does not restart it: no plan in effect

    pending = LogBuilder()
    pending.entries = failover_log().entries[:7]
    x = explained(pending, "Minion 1")
    assert x.power_state == "restarting"
    assert x.verdict == (
        "It is being restarted: ordered to lab2 at sequence 7 after lab1 was declared dead "
        "at sequence 6, not started yet."
    )

    waiting = LogBuilder()
    waiting.entries = failover_log().entries[:6]
    waiting.add(VMUnplaceable, vm="Minion 1", reason="insufficient memory")
    x = explained(waiting, "Minion 1")
    assert x.verdict.startswith("It is unplaceable since sequence 7: no liveset member")


def test_only_the_last_stop_is_told_earlier_ones_are_counted() -> None:
    """A VM that stopped twice is explained from its last stop; the earlier one is counted."""
    log = failover_log()
    log.add(VMHaltedByGuest, vm="Minion 1", host="lab2")
    log.add(HostJoined, host="lab1", incarnation="boot-2", record=join_record("lab1", "boot-2"))
    log.add(VMRestartOrdered, vm="Minion 1", host="lab1", incarnation="boot-2", plan="p")
    log.add(VMStarted, vm="Minion 1", host="lab1", incarnation="boot-2", instance="i-2")
    x = explained(log, "Minion 1")
    assert x.host == "lab1"
    assert [r for _, r in roles(x)] == ["stopped", "plan in effect", "ordered", "started"]
    assert x.earlier_losses == 1
    assert "restarted after it stopped at sequence 10" in x.verdict


def test_an_order_voided_by_the_targets_death_is_part_of_the_chain() -> None:
    """When the order's target dies before the start, the chain shows the order became void."""
    log = LogBuilder()
    log.entries = failover_log().entries[:7]
    log.add(HostDeclaredDead, host="lab2", evidence=timeout_evidence("boot-7"))
    x = explained(log, "Minion 1")
    assert roles(x)[-1] == (8, "order to lab2 void")
    assert x.verdict.startswith("It waits for a restart after lab1 was declared dead")


def test_an_unknown_vm_has_no_explanation() -> None:
    """A name the log never used gives None; the explainer lists the names it knows."""
    assert explain(failover_log().entries, "Minion 9") is None
    assert explain([], "Minion 1") is None


def test_the_json_form_carries_every_step() -> None:
    """--json: the verdict, the protection and every step with its facts, times in UTC."""
    data = explained(failover_log(), "Minion 1").to_json()
    assert data["vm"] == "Minion 1" and data["host"] == "lab2"
    assert [s["role"] for s in data["chain"]][-1] == "started"
    assert data["chain"][1]["facts"]["rule"] == "timeout"
    assert data["created"]["at"] == "2026-03-01T12:00:00Z"
