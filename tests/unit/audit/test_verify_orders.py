"""verify on restart orders, unplaceable VMs and starts: the liveset, incarnations, memory
and anti-affinity on the replayed state."""

from __future__ import annotations

from schemas.events import (
    HADisabled,
    HostExcluded,
    HostJoined,
    HostSuspected,
    VMCreated,
    VMProtectionSet,
    VMRestartOrdered,
    VMShutDownByAdmin,
    VMStarted,
    VMUnplaceable,
)
from schemas.pool import VM
from services.audit import VerifyReport, verify
from tests.unit.audit.logs import (
    LogBuilder,
    every_decision_log,
    failover_log,
    prefix,
    rack_failover_log,
    suspect_evidence,
    tampered,
)


def problems(log: LogBuilder | list, seq: int) -> list[str]:  # type: ignore[type-arg]
    entries = log.entries if isinstance(log, LogBuilder) else log
    report: VerifyReport = verify(entries)
    return [f.problem for f in report.differences if f.seq == seq]


def test_orders_in_restart_order_with_anti_affinity_agree() -> None:
    """The rack failover (two orders, one steered by anti-affinity) verifies."""
    report = verify(rack_failover_log().entries)
    assert report.ok and report.checked["vm_restart_ordered"] == 2


def test_an_order_breaking_anti_affinity_differs() -> None:
    """Web 1 ordered to h2.rack7, which runs Web 2 of the same group."""
    log = tampered(rack_failover_log().entries, 7, host="h2.rack7", incarnation="boot-h2.rack7")
    assert problems(log, 7) == ["the VM anti-affinity group web: h2.rack7 already has 'Web 2'"]


def test_an_order_without_room_differs_counting_earlier_orders() -> None:
    """In the tight pool, a (10 GiB) ordered to h2 while b still runs there (6 GiB free)."""
    log = prefix(every_decision_log(), 13)
    log.add(VMRestartOrdered, vm="a", host="h2", incarnation="boot-2", plan="p")
    assert problems(log, 14) == ["the VM does not fit: needs 10240 MiB, h2 had 6144 MiB free"]
    # Room taken by an order already given counts too: once b is shut down h2 has room for
    # a, but not for c as well.
    queued = prefix(every_decision_log(), 13)
    queued.add(VMShutDownByAdmin, epoch=0, vm="b")
    queued.add(VMCreated, epoch=0,
               spec=VM(name="c", memory_mib=10240, ha_restart_priority="restart"))  # fmt: skip
    queued.add(VMRestartOrdered, vm="a", host="h2", incarnation="boot-2", plan="p")
    queued.add(VMRestartOrdered, vm="c", host="h2", incarnation="boot-2", plan="p")
    assert problems(queued, 16) == []
    assert problems(queued, 17) == ["the VM does not fit: needs 10240 MiB, h2 had 6144 MiB free"]


def test_orders_only_to_current_liveset_members() -> None:
    """A suspected, excluded or never-joined target, or another incarnation, differs."""
    base = prefix(failover_log(), 6)
    suspected = prefix(base, 6)
    suspected.add(HostSuspected, host="lab2", evidence=suspect_evidence("boot-7"))
    suspected.add(VMRestartOrdered, vm="Minion 1", host="lab2", incarnation="boot-7", plan="p")
    assert problems(suspected, 8) == ["lab2 is not a liveset member (it is suspected)"]
    excluded = prefix(base, 6)
    excluded.add(HostExcluded, epoch=0, host="lab2", reason="maintenance")
    excluded.add(VMRestartOrdered, vm="Minion 1", host="lab2", incarnation="boot-7", plan="p")
    assert problems(excluded, 8) == ["lab2 is not a liveset member (it is excluded)"]
    stale = prefix(base, 6)
    stale.add(HostJoined, host="lab2", incarnation="boot-8")
    stale.add(VMRestartOrdered, vm="Minion 1", host="lab2", incarnation="boot-7", plan="p")
    assert problems(stale, 8) == [
        "the order is for incarnation boot-7, but the host's current incarnation is boot-8"
    ]


def test_orders_for_vms_ha_must_leave_alone_differ() -> None:
    """A VM that runs, has an order pending, is unprotected, was shut down by an admin, or
    an order while HA is off: each differs, saying why."""
    running = prefix(failover_log(), 5)
    running.add(VMRestartOrdered, vm="Minion 1", host="lab2", incarnation="boot-7", plan="p")
    assert problems(running, 6) == ["the VM already runs on lab1"]

    twice = prefix(failover_log(), 7)
    twice.add(VMRestartOrdered, vm="Minion 1", host="lab2", incarnation="boot-7", plan="p")
    assert problems(twice, 8) == ["an order to lab2 (incarnation boot-7) is still pending"]

    unprotected = prefix(failover_log(), 3)
    unprotected.add(VMProtectionSet, epoch=0, vm="Minion 1", ha_restart_priority="")
    unprotected.entries += [e._replace(seq=e.seq + 1) for e in failover_log().entries[3:6]]
    unprotected.add(VMRestartOrdered, vm="Minion 1", host="lab2", incarnation="boot-7", plan="p")
    assert "the VM is not protected (no ha_restart_priority)" in problems(unprotected, 8)

    admin = prefix(failover_log(), 6)
    admin.add(VMShutDownByAdmin, epoch=0, vm="Minion 1")
    admin.add(VMRestartOrdered, vm="Minion 1", host="lab2", incarnation="boot-7", plan="p")
    assert problems(admin, 8) == ["an admin shut the VM down: it stays halted"]

    off = prefix(failover_log(), 6)
    off.add(HADisabled, epoch=0)
    off.add(VMRestartOrdered, vm="Minion 1", host="lab2", incarnation="boot-7", plan="p")
    assert problems(off, 8) == ["HA is disabled: no VM is restarted until it is enabled again"]


def test_unplaceable_only_when_no_liveset_member_has_room() -> None:
    """Marking Minion 1 unplaceable while lab2 has room differs; an unknown VM differs."""
    log = prefix(failover_log(), 6)
    log.add(VMUnplaceable, vm="Minion 1", reason="no room")
    assert problems(log, 7) == [
        "the VM fits on liveset member lab2 (needs 4160 MiB, lab2 had 30720 MiB free)"
    ]
    ghost = prefix(failover_log(), 6)
    ghost.add(VMUnplaceable, vm="Minion 9", reason="no room")
    assert problems(ghost, 7) == ["VM 'Minion 9' is not in the pool"]


def test_a_start_must_execute_the_pending_order() -> None:
    """A start by another incarnation, on another host than ordered, on a dead host, or while
    the VM still runs elsewhere (two hosts at once) differs."""
    other_host = tampered(failover_log().entries, 8, host="lab1", incarnation="boot-1")
    assert problems(other_host, 8) == [
        "host lab1 is dead",
        "the pending order is for lab2 (incarnation boot-7), not lab1 (incarnation boot-1)",
    ]
    twice = prefix(failover_log(), 3)
    twice.add(VMStarted, vm="Minion 1", host="lab2", incarnation="boot-7", instance="i-x")
    assert problems(twice, 4) == ["the VM still runs on lab1: it would run on two hosts at once"]
    # A start nobody ordered, on the host the VM already runs on (a collector reporting its
    # VMs after a restart), is fine.
    again = prefix(failover_log(), 3)
    again.add(VMStarted, vm="Minion 1", host="lab1", incarnation="boot-1", instance="i-y")
    assert problems(again, 4) == []
