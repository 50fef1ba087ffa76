"""The fence sequence in the simulator: kill, confirm, then mark. A kill that is stuck gets no
mark (the arbiter waits for its slow path, after the watchdog), and a quickly restarted
collector does not join while the VM its last incarnation could not kill still runs (a scenario
that breaks invariant 1 without that rule)."""

from __future__ import annotations

from services.collector.core import Collector
from services.sim.engine import Sim
from services.sim.faults import Arbiters, Fault, Kind, Schedule
from services.sim.generate import WITNESS, uniform_pool
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


# From the 2-host stuck-kill grid: both hosts lose the store in turn; h2 fences while h1 has the
# store back, its kill is stuck, and its collector restarts 0.75 s later with the store back
# (unlike a restart during the outage, where the store alone keeps the new incarnation out).
QUICK_RESTART = Schedule(
    442, POOL, Arbiters((), (WITNESS,)),
    (
        Fault(Kind.STORE_LINK, 43.11, 79.11, ("h1",)),
        Fault(Kind.STORE_LINK, 44.46, 80.46, ("h2",)),
        Fault(Kind.STUCK_KILL, 44.46, None, ("h2",)),
    ),
    heal_at=126.0, end_at=294.0, timeout_s=30.0, reboot_s=0.75,
)  # fmt: skip


class _JoinsAtOnce(Collector):
    """A collector without the rule: it never hears of the earlier incarnation's VMs."""

    def earlier_vms_alive(self, count: int) -> None:
        pass


def test_a_quick_restart_waits_for_the_vm_it_could_not_kill() -> None:
    """h2's collector restarts a fraction of an interval after its stuck fence, with the store
    reachable: the new incarnation writes no slot and asks nothing until the watchdog killed
    vm2, then joins; vm2 is restarted on it once, and every invariant holds."""
    ran = simulate(QUICK_RESTART)
    trace = ran.outcome.trace
    assert ran.outcome.ok, "\n".join(trace)
    boot = _index(trace, "h2 boots as h2#2")
    watchdog = _index(trace, "h2: the watchdog kills ['vm2']")
    assert boot < watchdog < _index(trace, "Joined(host=h2, incarnation=h2#2)")
    assert ran.outcome.settled_at is not None
    assert ran.running_on("vm2") == {"h2"}


def test_without_the_wait_the_quick_restart_runs_a_vm_twice() -> None:
    """The schedule above needs the rule: a new incarnation that joins while its earlier one's
    VM lives has vm2 restarted on h2 while the stuck instance still runs there (invariant 1)."""
    outcome = Sim(QUICK_RESTART, collector=_JoinsAtOnce).run()
    assert [v.invariant for v in outcome.violations] == [1]
    assert "vm2" in outcome.violations[0].what
