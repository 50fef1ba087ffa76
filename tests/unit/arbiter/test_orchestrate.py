"""Restart orchestration in the arbiter core: order groups and start delays, retries, guest
halts and admin shutdowns, capacity waits, HA off, starts in place, evacuation."""

from __future__ import annotations

from schemas.messages import FencedNotice, NetworkHeartbeat
from schemas.pool import VM, HAConfig, Host, Pool
from schemas.reports import HostReport, RunningVM, StartFailure, VMExitReport
from services.arbiter.core import Arbiter
from services.arbiter.view import (
    Joined,
    PoolConfig,
    RestartOrdered,
    VmLost,
    VmRunning,
    VmShutDownByAdmin,
    VmStartFailed,
    VmUnplaceable,
)
from tests.unit.arbiter.helpers import HOSTS, T_DEAD, TIMERS, Clock, T, join

JOINED = [Joined(h, f"{h}#1") for h in HOSTS]


def _pool(*vms: VM, memory: int = 8192) -> Pool:
    return Pool(
        name="orchestration",
        ha=HAConfig(host_failures_to_tolerate=0, timeout_s=TIMERS.timeout_s),
        hosts=tuple(Host(name=h, memory_mib=memory) for h in HOSTS),
        vms=vms,
    )


def _vm(name: str, host: str = "a", mib: int = 1024, **fields: object) -> VM:
    return VM.model_validate(
        {"name": name, "memory_mib": mib, "host": host, "ha_restart_priority": "restart"} | fields
    )


def _leader(pool: Pool) -> Clock:
    arb = Arbiter("arb", pool, TIMERS)
    arb.gain_leadership(0.0, 1, JOINED)
    return Clock(arb)


def _kill_a(clock: Clock) -> None:
    """a fences at once; it is declared dead when the leader has led for T_dead."""
    clock.alive.discard("a")
    clock.arb.fenced_notice(FencedNotice(host="a", incarnation="a#1"), clock.now + 0.5)
    clock.run_until(max(clock.now, T_DEAD))


def _report(host: str, *, running: tuple[RunningVM, ...] = (), **items: object) -> HostReport:
    return HostReport.model_validate(
        {
            "host": host,
            "incarnation": f"{host}#1",
            "seq": 1,
            "phase": "member",
            "lease_ok": True,
            "store_ok": True,
            "vms": running,
        }
        | items
    )


def _started(clock: Clock, *orders: RestartOrdered) -> None:
    """Each order's host reports its VM running."""
    for o in orders:
        report = _report(o.host, running=(RunningVM(vm=o.vm, instance=o.order_id),))
        clock.arb.host_report(report, clock.now + 0.1)


def _orders(clock: Clock) -> list[RestartOrdered]:
    return [d for d in clock.decisions if isinstance(d, RestartOrdered)]


def test_order_groups_start_one_after_the_other_with_the_start_delay() -> None:
    """VMs of order 1 are ordered first; order 2 waits until both are reported running plus
    the longest start delay of group 1 (3 s); order 3 follows group 2 at once (no delay)."""
    pool = _pool(
        _vm("db1", order=1, start_delay_s=3.0),
        _vm("db2", order=1, start_delay_s=1.0),
        _vm("app", order=2),
        _vm("web", order=3),
    )
    clock = _leader(pool)
    _kill_a(clock)
    assert {o.vm for o in _orders(clock)} == {"db1", "db2"}
    clock.run_until(clock.now + T - 1)  # nothing reported: group 2 waits
    assert {o.vm for o in _orders(clock)} == {"db1", "db2"}
    _started(clock, *_orders(clock))
    clock.step()
    running_at = clock.now
    assert len(clock.of(VmRunning)) == 2 and len(_orders(clock)) == 2
    while len(_orders(clock)) == 2:
        clock.step()
    assert _orders(clock)[-1].vm == "app" and clock.now - running_at == 3.0
    _started(clock, _orders(clock)[-1])
    clock.step()
    clock.step()
    assert [o.vm for o in _orders(clock)] == ["db1", "db2", "app", "web"]


def test_a_group_that_never_reports_holds_the_next_one_for_T_only() -> None:
    """A host slow to report cannot hold the restart of the rest of the pool for ever."""
    clock = _leader(_pool(_vm("first", order=1), _vm("second", order=2)))
    _kill_a(clock)
    ordered_at = clock.now
    assert [o.vm for o in _orders(clock)] == ["first"]
    while len(_orders(clock)) == 1:
        clock.step()
    assert _orders(clock)[1].vm == "second" and clock.now - ordered_at == T


def test_a_group_slow_to_report_still_holds_the_next_one_for_its_start_delay() -> None:
    """A host that reports its start only after T (a loaded machine) does not cut the start
    delay short: the next group goes the group's start delay after the start is seen."""
    clock = _leader(_pool(_vm("first", order=1, start_delay_s=20.0), _vm("second", order=2)))
    _kill_a(clock)
    ordered_at = clock.now
    assert [o.vm for o in _orders(clock)] == ["first"]
    clock.run_until(ordered_at + T + 5.0)
    assert [o.vm for o in _orders(clock)] == ["first"]
    _started(clock, _orders(clock)[0])  # reported late, past T
    clock.step()
    seen_at = clock.now
    assert clock.arb.view.vms["first"].state == "running"
    while len(_orders(clock)) == 1:
        clock.step()
    assert _orders(clock)[1].vm == "second" and clock.now - seen_at == 20.0


def test_a_group_that_never_reports_holds_the_next_one_for_T_and_its_start_delay() -> None:
    """A start never reported (a host slow or gone) holds the next group for T, then for the
    start delay: it may be booting all the same."""
    clock = _leader(_pool(_vm("first", order=1, start_delay_s=5.0), _vm("second", order=2)))
    _kill_a(clock)
    ordered_at = clock.now
    while len(_orders(clock)) == 1:
        clock.step()
    assert _orders(clock)[1].vm == "second" and clock.now - ordered_at == T + 5.0


def test_a_failed_start_is_retried_after_a_backoff_within_its_limits() -> None:
    """A protected VM whose start fails goes back to waiting and is ordered again later: the
    first order after its host died does not count, then max_restart + max_relocate more."""
    clock = _leader(_pool(_vm("web", max_restart=2, max_relocate=2)))
    _kill_a(clock)
    for attempt in range(1, 5):
        order = _orders(clock)[-1]
        failure = StartFailure(vm="web", instance=order.order_id, reason="disk busy")
        clock.arb.host_report(_report(order.host, failed_starts=(failure,)), clock.now + 0.1)
        clock.step()
        assert len(clock.of(VmStartFailed)) == attempt
        assert clock.arb.view.vms["web"].state == "restarting"
        while len(_orders(clock)) == attempt:
            clock.step()
    assert len({o.order_id for o in _orders(clock)}) == 5


def test_a_best_effort_vm_is_tried_twice_then_left_failed() -> None:
    """Best-effort: two failed starts (the first order after its host died, then one more
    try), then it is failed and not ordered again."""
    clock = _leader(_pool(_vm("batch", ha_restart_priority="best-effort")))
    _kill_a(clock)
    for _ in range(2):
        while not _orders(clock) or clock.arb.view.vms["batch"].state != "ordered":
            clock.step()
        order = _orders(clock)[-1]
        failure = StartFailure(vm="batch", instance=order.order_id, reason="no disk")
        clock.arb.host_report(_report(order.host, failed_starts=(failure,)), clock.now + 0.1)
        clock.step()
    assert clock.arb.view.vms["batch"].state == "failed"
    clock.run_until(clock.now + 3 * T)
    assert len(_orders(clock)) == 2


def test_a_guest_halt_restarts_the_vm_an_admin_shutdown_does_not() -> None:
    """web halted by its guest is ordered again; db shut down by an admin stays halted."""
    clock = _leader(_pool(_vm("web", host="b"), _vm("db", host="c")))
    clock.run_until(T_DEAD)
    assert clock.arb.stop_vm("db") == []
    stops = clock.step().stops
    assert [(s.vm, s.host, s.incarnation) for s in stops] == [("db", "c", "c#1")]
    clock.arb.host_report(
        _report("b", exits=(VMExitReport(vm="web", instance="x", cause="guest-halt"),)), 0
    )
    clock.arb.host_report(
        _report("c", exits=(VMExitReport(vm="db", instance="y", cause="admin-shutdown"),)), 0
    )
    clock.step()
    assert clock.of(VmLost) == [VmLost("web", "b", "b#1", "guest-halt", stable=False)]
    assert clock.of(VmShutDownByAdmin) == [VmShutDownByAdmin("db")]
    assert [o.vm for o in _orders(clock)] == ["web"]
    assert clock.arb.view.vms["db"].state == "halted" and clock.last.stops == ()


def test_a_repeated_exit_report_does_not_stop_the_next_instance() -> None:
    """Reports repeat for about T: the exit of the instance that halted says nothing about
    the instance started after it."""
    clock = _leader(_pool(_vm("web", host="b")))
    clock.run_until(T_DEAD)
    halt = _report("b", exits=(VMExitReport(vm="web", instance="old", cause="guest-halt"),))
    clock.arb.host_report(halt, clock.now)
    clock.step()
    [order] = _orders(clock)
    _started(clock, order)
    clock.step()
    clock.arb.host_report(halt, clock.now)
    clock.step()
    assert clock.arb.view.vms["web"].state == "running" and len(clock.of(VmLost)) == 1


def test_a_vm_that_fits_nowhere_waits_and_starts_when_capacity_comes() -> None:
    """big (6 GiB) cannot go to b or c while they are full; it is recorded unplaceable once,
    then ordered when a VM on c halts and frees the room."""
    pool = _pool(
        _vm("big", mib=6144),
        _vm("fill-b", host="b", mib=4096, ha_restart_priority=""),
        _vm("fill-c", host="c", mib=4096, ha_restart_priority=""),
    )
    clock = _leader(pool)
    _kill_a(clock)
    clock.run_until(clock.now + 3)
    [unplaceable] = clock.of(VmUnplaceable)
    assert unplaceable.vm == "big" and "insufficient memory" in unplaceable.reason
    assert _orders(clock) == []
    exit_ = VMExitReport(vm="fill-c", instance="i", cause="guest-halt")
    clock.arb.host_report(_report("c", exits=(exit_,)), clock.now)
    clock.step()
    assert [(o.vm, o.host) for o in _orders(clock)] == [("big", "c")]


def test_anti_affinity_keeps_two_members_of_a_group_apart() -> None:
    """db1 and db2 share a group: restarted on different hosts though one host has room."""
    pool = _pool(_vm("db1", anti_affinity="db"), _vm("db2", anti_affinity="db"), memory=16384)
    clock = _leader(pool)
    _kill_a(clock)
    hosts = [o.host for o in _orders(clock)]
    assert sorted(hosts) == ["b", "c"]


def test_ha_off_decides_nothing_about_liveness_and_on_again_waits_T_dead() -> None:
    """With HA off a host that fenced is neither declared dead nor are its VMs restarted;
    switched on again, the leader waits a full T_dead before declaring it dead."""
    pool = _pool(_vm("web"))
    clock = _leader(pool)
    off = PoolConfig(pool.hosts, frozenset(), pool.vms, ha_enabled=False)
    clock.arb.configure(off, clock.now)
    _kill_a(clock)
    clock.run_until(T_DEAD + 2 * T)
    assert _orders(clock) == [] and not clock.arb.view.hosts["a"].dead
    enabled_at = clock.now
    clock.arb.configure(PoolConfig(pool.hosts, frozenset(), pool.vms, True), clock.now)
    clock.arb.fenced_notice(FencedNotice(host="a", incarnation="a#1"), clock.now + 0.5)
    while not clock.arb.view.hosts["a"].dead:
        clock.step()
    assert clock.now - enabled_at >= T_DEAD
    assert [o.vm for o in _orders(clock)] == ["web"]


def test_a_first_join_starts_in_place_the_vms_its_host_does_not_run() -> None:
    """The pool file places web and db on a: a's first incarnation joins; its heartbeat lists
    db only (taken over mid-life), so web is ordered in place on a and db is not."""
    pool = _pool(_vm("web"), _vm("db"))
    arb = Arbiter("arb", pool, TIMERS)
    arb.gain_leadership(0.0, 1, [Joined("b", "b#1"), Joined("c", "c#1")])
    clock = Clock(arb)
    clock.step()
    arb.join_request(join("a", "a#1", clock.beacon), 1.5)
    clock.step()
    assert [(d.host, d.incarnation) for d in clock.of(Joined)] == [("a", "a#1")]
    assert _orders(clock) == []
    hb = NetworkHeartbeat(
        host="a", incarnation="a#1", seq=1, lease_ok=True, store_ok=True, vms=("db",)
    )
    arb.heartbeat(hb, clock.now + 0.5)
    clock.step()
    assert [(o.vm, o.host, o.incarnation) for o in _orders(clock)] == [("web", "a", "a#1")]


def test_evacuation_moves_a_vm_off_a_host_in_maintenance() -> None:
    """b goes into maintenance (configuration) and web is stopped there for evacuation: its
    exit makes it wait for a host, and it is ordered on c, never back on b."""
    pool = _pool(_vm("web", host="b", ha_restart_priority=""))
    clock = _leader(pool)
    clock.run_until(T_DEAD)
    clock.arb.configure(PoolConfig(pool.hosts, frozenset({"b"}), pool.vms, True), clock.now)
    assert clock.arb.stop_vm("web", "evacuate") == []
    assert [s.vm for s in clock.step().stops] == ["web"]
    exit_ = VMExitReport(vm="web", instance="i", cause="admin-shutdown")
    clock.arb.host_report(_report("b", exits=(exit_,)), clock.now)
    clock.step()
    clock.step()
    [order] = _orders(clock)
    assert order.vm == "web" and order.host in ("a", "c")
    assert clock.of(VmShutDownByAdmin) == []


def test_configuration_changes_reach_the_view_in_log_order() -> None:
    """A VM protected after its host died is not restarted by that change (it is halted);
    a host added later is a liveset candidate once it joins."""
    pool = _pool(_vm("web", ha_restart_priority=""))
    clock = _leader(pool)
    _kill_a(clock)
    assert clock.arb.view.vms["web"].state == "halted"
    protected = (_vm("web"),)
    config = PoolConfig(
        (*pool.hosts, Host(name="d", memory_mib=4096)), frozenset(), protected, True
    )
    clock.arb.configure(config, clock.now)
    clock.step()
    assert _orders(clock) == [] and "d" in clock.arb.view.hosts
    assert clock.arb.view.vms["web"].protected
