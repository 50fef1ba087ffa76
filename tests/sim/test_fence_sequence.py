"""The fence sequence in the simulator: kill, confirm, then mark. A kill that is stuck gets no
mark (the arbiter waits for its slow path, after the watchdog), and a quickly restarted
collector does not join while the VM its last incarnation could not kill still runs."""

from __future__ import annotations

from services.sim.faults import Arbiters, Fault, Kind, Schedule
from services.sim.generate import uniform_pool
from tests.sim.helpers import simulate

POOL = uniform_pool(2, 30.0)
START = 43.0


def _schedule(*faults: Fault, reboot_s: float = 0.0) -> Schedule:
    return Schedule(
        7, POOL, Arbiters(("h2",)), faults, heal_at=126.0, end_at=294.0, timeout_s=30.0,
        reboot_s=reboot_s,
    )  # fmt: skip


def _index(trace: tuple[str, ...], text: str) -> int:
    return next(i for i, line in enumerate(trace) if text in line)


def test_a_stuck_kill_leaves_no_mark_and_the_vm_moves_only_after_the_watchdog() -> None:
    """h1 loses the bus and its kill is stuck: it fences without a mark; vm1 dies when the
    watchdog fires, and only after that is h1 declared dead and vm1 restarted on h2; every
    invariant holds."""
    ran = simulate(
        _schedule(
            Fault(Kind.BUS_LINK, START, None, ("h1",)),
            Fault(Kind.STUCK_KILL, START, None, ("h1",)),
        )
    )
    trace = ran.outcome.trace
    assert ran.outcome.ok, "\n".join(trace)
    fence = _index(trace, "h1 (h1#1) fences")
    assert "cannot confirm the kill: no fenced mark" in trace[fence + 2]
    watchdog = _index(trace, "h1: the watchdog kills ['vm1']")
    assert watchdog < _index(trace, "h1 (h1#1) declared dead")
    assert watchdog < _index(trace, "h2 starts vm1")
    assert ran.running_on("vm1") == {"h2"}


def test_a_quick_restart_waits_for_the_vm_it_could_not_kill() -> None:
    """The collector restarts a fraction of an interval after its stuck fence: the new
    incarnation writes no slot and asks nothing until the watchdog killed vm1, then joins
    after the faults heal; the pool settles with vm1 running once and no violation."""
    ran = simulate(
        _schedule(
            Fault(Kind.STORE_LINK, START, 100.0, ("h1",)),
            Fault(Kind.STUCK_KILL, START, None, ("h1",)),
            reboot_s=0.75,
        )
    )
    trace = ran.outcome.trace
    assert ran.outcome.ok, "\n".join(trace)
    boot = _index(trace, "h1 boots as h1#2")
    watchdog = _index(trace, "h1: the watchdog kills ['vm1']")
    assert boot < watchdog < _index(trace, "Joined(host=h1, incarnation=h1#2)")
    assert ran.outcome.settled_at is not None
    assert len(ran.running_on("vm1")) == 1
