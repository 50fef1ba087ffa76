"""Order groups and their start delay in the simulator, with a host slow to take its orders
(fault `order_delay`): the arbiter orders the next group only once every start of this one is
reported (or T has passed), plus the group's start delay counted from the report, or from T
when no start is reported (services/arbiter/orchestrate.py). Under the old rule, a group whose
start was reported after T let the next group go at once, with no delay at all."""

from __future__ import annotations

from schemas.pool import VM, HAConfig, Host, Pool
from services.common.timers import Timers
from services.sim.faults import Arbiters, Fault, Kind, Schedule
from tests.sim.helpers import Ran, simulate

T = 30.0
DELAY = 20.0  # the start delay of the first group


def ordered_pool() -> Pool:
    """h1 runs `first` (order 1, start delay DELAY) and `second` (order 2); `first` fits on h2
    only (h3 is small), `second` anywhere."""
    hosts = (
        Host(name="h1", memory_mib=32768, reserved_mib=2048),
        Host(name="h2", memory_mib=32768, reserved_mib=2048),
        Host(name="h3", memory_mib=16384, reserved_mib=2048),
    )
    vms = (
        VM(name="first", memory_mib=20480, host="h1", ha_restart_priority="restart", order=1,
           start_delay_s=DELAY),
        VM(name="second", memory_mib=4096, host="h1", ha_restart_priority="restart", order=2),
    )  # fmt: skip
    ha = HAConfig(host_failures_to_tolerate=1, timeout_s=T)
    return Pool(name="ordered", ha=ha, hosts=hosts, vms=vms)


def slow_host(order_delay_s: float, until: float | None = None) -> Schedule:
    """h1 loses its power after the first leader's warm-up; the leader's orders reach h2 only
    `order_delay_s` late (0: not before `until`). The arbiter runs on a witness. Seed 4."""
    t = Timers.from_timeout(T)
    start = t.t_dead_s + 0.37 * t.interval_s
    return Schedule(
        4,
        ordered_pool(),
        Arbiters((), ("witness",)),
        (
            Fault(Kind.POWER, start, None, ("h1",)),
            Fault(Kind.ORDER_DELAY, start, until, ("h2",), order_delay_s),
        ),
        heal_at=3 * t.t_dead_s + 4 * T,
        end_at=7 * t.t_dead_s + 4 * T,
        timeout_s=T,
    )


def _at(ran: Ran, kind: str, vm: str) -> float:
    times = [t for t, k, s in ran.outcome.milestones if (k, s) == (kind, vm)]
    assert times, f"no {kind} milestone of {vm}"
    return times[0]


def test_a_start_reported_after_t_holds_the_next_group_for_its_delay_from_the_report() -> None:
    """h2 takes its orders T + 2 s late: `first` is ordered on h2, its start is recorded more
    than T after its order (after its group closed), and `second` is ordered no earlier than
    DELAY after that record. The old rule ordered `second` as the group closed at T (before
    the start was even reported); the rule of b8e041b, DELAY after T, still before the
    report's DELAY ran out. No invariant breaks and h2 never fences."""
    ran = simulate(slow_host(T + 2.0))
    assert ran.outcome.ok, ran.outcome.violations
    assert ran.fenced_hosts(before=float("inf")) == set()
    ordered, reported = _at(ran, "ordered", "first"), _at(ran, "reported", "first")
    assert reported - ordered > T  # the scenario's premise: reported after its group closed
    assert _at(ran, "ordered", "second") >= reported + DELAY - 1e-9


def test_a_start_never_reported_holds_the_next_group_t_plus_its_delay() -> None:
    """h2 takes no order until the faults heal: `first` is never reported running while its
    group is in flight, and `second` is ordered no earlier than T + DELAY after `first` was
    ordered. The old rule ordered it at T. No invariant breaks (`first` runs once the orders
    flow again) and h2 never fences."""
    ran = simulate(slow_host(0.0))
    assert ran.outcome.ok, ran.outcome.violations
    assert ran.fenced_hosts(before=float("inf")) == set()
    ordered, second = _at(ran, "ordered", "first"), _at(ran, "ordered", "second")
    assert _at(ran, "reported", "first") > second  # premise: no report before `second` went
    assert second >= ordered + T + DELAY - 1e-9
