"""Lost VMs in the arbiter core: a VM that stops on a healthy host without an admin shutdown
comes back (in place first), with exponential backoff, within its restart and relocation
limits (then `failed` until an operator starts it), and restarts after a host failure are
limited in flight, most protected first. Simulated time only (Clock), no IO."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.messages import FencedNotice, StoreObservation
from schemas.pool import VM, HAConfig, Host, Pool
from schemas.reports import HostReport, RunningVM, VMExitReport
from services.arbiter import orchestrate
from services.arbiter.core import Arbiter, ArbiterTick
from services.arbiter.view import (
    Decision,
    Joined,
    RestartOrdered,
    VmFailed,
    VmLost,
    VmRunning,
)
from tests.unit.arbiter.helpers import HOSTS, T_DEAD, TIMERS, Clock, T


def _pool(*vms: VM, memory: int = 8192) -> Pool:
    return Pool(
        name="lost",
        ha=HAConfig(host_failures_to_tolerate=0, timeout_s=TIMERS.timeout_s),
        hosts=tuple(Host(name=h, memory_mib=memory) for h in HOSTS),
        vms=vms,
    )


def _vm(name: str, host: str | None = "b", **fields: object) -> VM:
    base = {"name": name, "memory_mib": 1024, "host": host, "ha_restart_priority": "restart"}
    return VM.model_validate(base | fields)


def _leader(pool: Pool, **kw: int) -> Clock:
    arb = Arbiter("arb", pool, TIMERS, **kw)  # type: ignore[arg-type]
    arb.gain_leadership(0.0, 1, [Joined(h, f"{h}#1") for h in HOSTS])
    clock = Clock(arb)
    clock.run_until(T_DEAD)
    return clock


def _report(host: str, *, vms: tuple[str, ...] = (), exits: tuple[VMExitReport, ...] = (),
            phase: str = "member", instance: str = "i") -> HostReport:  # fmt: skip
    return HostReport.model_validate(
        {
            "host": host,
            "incarnation": f"{host}#1",
            "seq": 1,
            "phase": phase,
            "lease_ok": True,
            "store_ok": True,
            "vms": [RunningVM(vm=v, instance=instance) for v in vms],
            "exits": exits,
        }
    )


def _lose(clock: Clock, vm: str, cause: str = "killed") -> None:
    """The host `vm` runs on reports its instance gone with `cause`."""
    rec = clock.arb.view.vms[vm]
    assert rec.state == "running" and rec.host is not None
    exit_ = VMExitReport(vm=vm, instance=rec.instance or "i", cause=cause)  # type: ignore[arg-type]
    clock.arb.host_report(_report(rec.host, exits=(exit_,)), clock.now)
    clock.step()


def _orders(clock: Clock) -> list[RestartOrdered]:
    return [d for d in clock.decisions if isinstance(d, RestartOrdered)]


def _wait_order(clock: Clock, count: int, limit_s: float = 10 * T) -> RestartOrdered:
    """Step until the `count`-th order is made; it is reported running at once."""
    end = clock.now + limit_s
    while len(_orders(clock)) < count:
        assert clock.now < end, f"no order {count} within {limit_s} s"
        clock.step()
    order = _orders(clock)[count - 1]
    clock.arb.host_report(_report(order.host, vms=(order.vm,), instance=order.order_id), 0)
    clock.step()
    assert clock.arb.view.vms[order.vm].state == "running"
    return order


def _of(clock: Clock, kind: type) -> list[Decision]:
    return clock.of(kind)


def test_a_vm_killed_on_a_healthy_host_is_restarted_there() -> None:
    """The OOM killer kills web on b (b stays a healthy member): the exit is a VmLost with
    cause `killed`, and web is ordered again on b (same incarnation) at once."""
    clock = _leader(_pool(_vm("web")))
    _lose(clock, "web", "killed")
    assert _of(clock, VmLost) == [VmLost("web", "b", "b#1", "killed", stable=False)]
    [order] = _orders(clock)
    assert (order.vm, order.host, order.incarnation) == ("web", "b", "b#1")


def test_every_cause_but_an_admin_shutdown_is_a_lost_vm() -> None:
    """Crashed, storage-lost, guest-halt and killed VMs are all restarted (one order group at a
    time: nothing reports them running here, so each group waits T); the causes are kept."""
    causes = ("crashed", "storage-lost", "guest-halt", "killed")
    clock = _leader(_pool(*(_vm(f"vm-{c}") for c in causes)))
    for c in causes:
        _lose(clock, f"vm-{c}", c)
    assert sorted(d.cause for d in _of(clock, VmLost)) == sorted(causes)  # type: ignore[attr-defined]
    clock.run_until(clock.now + 4 * T)
    assert sorted(o.vm for o in _orders(clock)) == sorted(f"vm-{c}" for c in causes)


def test_vms_killed_by_their_host_fencing_are_not_lost_vms() -> None:
    """A fencing host reports its VMs with cause `fenced`, or a report in phase `fenced`
    says `killed`: neither is decided as a lost VM (the host's declaration restarts them)."""
    clock = _leader(_pool(_vm("web"), _vm("db", host="c")))
    web = VMExitReport(vm="web", instance="i", cause="fenced")
    clock.arb.host_report(_report("b", exits=(web,)), clock.now)
    db = VMExitReport(vm="db", instance="i", cause="killed")
    clock.arb.host_report(_report("c", exits=(db,), phase="fenced"), clock.now)
    clock.run_until(clock.now + 3)
    assert _of(clock, VmLost) == [] and _orders(clock) == []


def test_a_vm_whose_host_is_not_healthy_is_relocated() -> None:
    """web dies on b while b is suspected (its lease silent): it is not ordered back onto b
    but onto a healthy member, which counts as a relocation."""
    clock = _leader(_pool(_vm("web")))
    clock.alive.discard("b")
    clock.run_until(clock.now + T + 1)  # b suspected
    assert "b" not in clock.arb.liveset(clock.now)
    _lose(clock, "web")
    order = _orders(clock)[-1]
    assert order.host in ("a", "c")
    assert clock.arb.view.vms["web"].relocations == 1


def test_tries_back_off_exponentially() -> None:
    """A VM lost again and again right after each start waits longer each time: the gap
    between its loss and its next order doubles (0, then 1, 2, 4 intervals)."""
    clock = _timed_leader(_pool(_vm("web", max_restart=10)))
    gaps = []
    for n in range(1, 5):
        _lose(clock, "web", "crashed")
        lost_at = clock.now
        order = _wait_order(clock, n)
        gaps.append(_ordered_at(clock, order) - lost_at)
    interval = TIMERS.interval_s
    assert gaps[0] <= 1.0
    assert gaps[1] >= interval and gaps[2] >= 2 * interval and gaps[3] >= 4 * interval
    assert gaps[1] < gaps[2] < gaps[3]


def _ordered_at(clock: _TimedClock, order: RestartOrdered) -> float:
    """The clock time of the tick that made `order`."""
    return clock.ordered_at[order.order_id]


class _TimedClock(Clock):
    """A Clock that also remembers when each order was made."""

    def __init__(self, arb: Arbiter) -> None:
        super().__init__(arb)
        self.ordered_at: dict[str, float] = {}

    def step(self, *observations: StoreObservation) -> ArbiterTick:
        tick = super().step(*observations)
        for d in tick.decisions:
            if isinstance(d, RestartOrdered):
                self.ordered_at[d.order_id] = self.now
        return tick


def _timed_leader(pool: Pool) -> _TimedClock:
    arb = Arbiter("arb", pool, TIMERS)
    arb.gain_leadership(0.0, 1, [Joined(h, f"{h}#1") for h in HOSTS])
    clock = _TimedClock(arb)
    clock.run_until(T_DEAD)
    return clock


def test_limits_restart_in_place_then_relocate_then_fail() -> None:
    """max_restart 1, max_relocate 1: the first loss restarts web on b, the second moves it
    to another host, the third leaves it failed with a VmFailed and no further order."""
    clock = _timed_leader(_pool(_vm("web", max_restart=1, max_relocate=1)))
    _lose(clock, "web")
    first = _wait_order(clock, 1)
    assert first.host == "b"
    _lose(clock, "web")
    second = _wait_order(clock, 2)
    assert second.host != "b"
    _lose(clock, "web")
    clock.run_until(clock.now + 10 * T)
    [failed] = _of(clock, VmFailed)
    assert failed.vm == "web" and "restarts 1/1" in failed.reason  # type: ignore[attr-defined]
    assert clock.arb.view.vms["web"].state == "failed" and len(_orders(clock)) == 2


def test_vm_start_clears_failed() -> None:
    """An operator's start of a failed VM (haplan vm start) orders it and clears its count:
    its next loss is restarted again."""
    clock = _timed_leader(_pool(_vm("web", max_restart=0, max_relocate=0)))
    _lose(clock, "web")
    clock.step()
    assert clock.arb.view.vms["web"].state == "failed" and _orders(clock) == []
    start = clock.arb.plan_start("web", None, clock.now)
    clock.arb.adopt([start])
    vm = clock.arb.view.vms["web"]
    assert vm.state == "ordered" and (vm.restarts, vm.relocations, vm.last_host) == (0, 0, None)
    clock.arb.host_report(_report(start.host, vms=("web",), instance=start.order_id), 0)
    clock.step()
    assert _of(clock, VmRunning)[-1].vm == "web"
    _lose(clock, "web")
    clock.step()
    # max_restart/max_relocate 0: lost once more after a fresh start, it fails again.
    assert clock.arb.view.vms["web"].state == "failed" and len(_of(clock, VmFailed)) == 2


def test_a_best_effort_vm_is_restarted_once() -> None:
    """A best-effort VM lost on a healthy host is restarted once; lost again, it fails."""
    clock = _timed_leader(_pool(_vm("batch", ha_restart_priority="best-effort")))
    _lose(clock, "batch")
    _wait_order(clock, 1)
    _lose(clock, "batch")
    clock.run_until(clock.now + 5 * T)
    assert clock.arb.view.vms["batch"].state == "failed" and len(_orders(clock)) == 1


def test_a_vm_that_ran_long_enough_starts_its_count_anew() -> None:
    """With max_restart 1 and max_relocate 0, web lost right after its restart fails; lost
    after running 10 T it is a fresh failure (stable) and is restarted again."""
    clock = _timed_leader(_pool(_vm("web", max_restart=1, max_relocate=0)))
    _lose(clock, "web")
    _wait_order(clock, 1)
    clock.run_until(clock.now + 10 * T + 1)
    _lose(clock, "web")
    assert _of(clock, VmLost)[-1].stable  # type: ignore[attr-defined]
    _wait_order(clock, 2)
    _lose(clock, "web")
    clock.run_until(clock.now + 5 * T)
    assert clock.arb.view.vms["web"].state == "failed"


def test_restarts_after_a_host_failure_are_limited_in_flight_in_priority_order() -> None:
    """Six VMs die with host a; at most 2 are ordered at a time: the protected ones first
    (order before name), the best-effort ones only once earlier starts are reported."""
    vms = [_vm(f"p{i}", host="a") for i in range(3)]
    vms += [_vm(f"be{i}", host="a", ha_restart_priority="best-effort") for i in range(3)]
    pool = _pool(*vms, memory=16384)
    arb = Arbiter("arb", pool, TIMERS, max_in_flight=2)
    arb.gain_leadership(0.0, 1, [Joined(h, f"{h}#1") for h in HOSTS])
    clock = Clock(arb)
    clock.alive.discard("a")
    arb.fenced_notice(FencedNotice(host="a", incarnation="a#1"), 0.5)
    batches: list[list[str]] = []
    while len(_orders(clock)) < 6:
        assert clock.now < 20 * T, "not every VM was ordered"
        before = len(_orders(clock))
        clock.step()
        new = _orders(clock)[before:]
        in_flight = [v for v in arb.view.vms.values() if v.state == "ordered"]
        assert len(in_flight) <= 2
        if new:
            batches.append([o.vm for o in new])
            for o in new:  # reported running one tick later
                arb.host_report(_report(o.host, vms=(o.vm,), instance=o.order_id), 0)
    flat = [vm for batch in batches for vm in batch]
    assert flat[:3] == ["p0", "p1", "p2"] and sorted(flat[3:]) == ["be0", "be1", "be2"]
    assert max(len(b) for b in batches) == 2


def test_no_placement_is_computed_while_the_in_flight_budget_is_spent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Three VMs die with host a, at most one in flight: while the first order is not
    reported (past T too, when its group no longer holds the next), no VM can be ordered, and
    the placement is not computed at all; once it reports, the next VM is placed."""
    pool = _pool(*(_vm(f"p{i}", host="a") for i in range(3)), memory=16384)
    arb = Arbiter("arb", pool, TIMERS, max_in_flight=1)
    arb.gain_leadership(0.0, 1, [Joined(h, f"{h}#1") for h in HOSTS])
    clock = Clock(arb)
    clock.alive.discard("a")
    arb.fenced_notice(FencedNotice(host="a", incarnation="a#1"), 0.5)
    calls: list[int] = []
    real = orchestrate.place_items

    def counted(*args: Any) -> Any:
        calls.append(len(args[0]))
        return real(*args)

    monkeypatch.setattr(orchestrate, "place_items", counted)
    while not _orders(clock):
        assert clock.now < 10 * T, "the first VM was never ordered"
        clock.step()
    placed_before = len(calls)
    clock.run_until(clock.now + 3 * T)
    assert len(_orders(clock)) == 1
    assert len(calls) == placed_before
    first = _orders(clock)[0]
    arb.host_report(_report(first.host, vms=(first.vm,), instance=first.order_id), clock.now)
    clock.run_until(clock.now + T)
    assert len(calls) > placed_before
    assert len(_orders(clock)) == 2


def test_a_vm_whose_storage_is_lost_relocates_at_once() -> None:
    """web loses its disk on b (`storage-lost`) though b stays healthy and has the most room
    (the plan alone would put web back there): its first order, made at once, goes to another
    host (a relocation, no try in place); with no relocation allowed it is left failed rather
    than started on b's storage again."""
    busy = (_vm("x", host="a", memory_mib=2048), _vm("y", host="c", memory_mib=2048))
    clock = _timed_leader(_pool(_vm("web"), *busy))
    _lose(clock, "web", "storage-lost")
    lost_at = clock.now
    order = _wait_order(clock, 1)
    assert order.host != "b"
    assert _ordered_at(clock, order) - lost_at <= 1.0
    rec = clock.arb.view.vms["web"]
    assert (rec.restarts, rec.relocations) == (0, 1)

    clock = _timed_leader(_pool(_vm("web", max_relocate=0)))
    _lose(clock, "web", "storage-lost")
    clock.run_until(clock.now + 5 * T)
    assert _orders(clock) == []
    [failed] = _of(clock, VmFailed)
    assert failed.vm == "web"  # type: ignore[attr-defined]
