"""`haplan vm migrate VM HOST` in the arbiter core: the VM is stopped where it runs with a
stop order, as an evacuation does, and ordered onto HOST only once its exit is reported; what
the core refuses, and what happens when HOST can no longer take it."""

from __future__ import annotations

import pytest

from schemas.reports import VMExitReport
from services.arbiter.operator import OpRefused
from services.arbiter.view import PoolConfig, RestartOrdered, VmEvacuated, VmShutDownByAdmin
from tests.unit.arbiter.helpers import T_DEAD, Clock
from tests.unit.arbiter.test_orchestrate import _leader, _orders, _pool, _report, _vm


def _running(*vms: object, memory: int = 8192) -> Clock:
    clock = _leader(_pool(*vms, memory=memory))  # type: ignore[arg-type]
    clock.run_until(T_DEAD)
    return clock


def _exit(clock: Clock, vm: str, host: str) -> None:
    """`host` reports `vm` stopped by the stop order (an admin-shutdown exit)."""
    exit_ = VMExitReport(vm=vm, instance="i", cause="admin-shutdown")
    clock.arb.host_report(_report(host, exits=(exit_,)), clock.now)


def test_a_migrating_vm_starts_on_the_target_only_after_its_stop_is_confirmed() -> None:
    """web runs on b; migrate to c: a stop order goes to b and nothing is ordered for as long
    as b has not reported the exit (web stays running on b); once it has, web is recorded
    evacuated from b and ordered onto c as an operator's start, not placed elsewhere."""
    clock = _running(_vm("web", host="b"))
    clock.arb.migrate_vm("web", "c", clock.now)
    for _ in range(3):
        stops = clock.step().stops
        assert [(s.vm, s.host, s.incarnation) for s in stops] == [("web", "b", "b#1")]
        assert _orders(clock) == [] and clock.arb.view.vms["web"].host == "b"
    _exit(clock, "web", "b")
    clock.step()
    assert clock.of(VmEvacuated) == [VmEvacuated("web", "b")]
    [order] = _orders(clock)
    assert (order.vm, order.host, order.incarnation, order.by_operator) == (
        "web", "c", "c#1", True,
    )  # fmt: skip
    assert clock.of(VmShutDownByAdmin) == [] and clock.last.stops == ()


def test_a_migration_goes_on_with_ha_off() -> None:
    """HA off restarts nothing, but an operator's migration still starts the VM on its
    target once it stopped."""
    clock = _running(_vm("web", host="b"))
    pool = clock.arb.pool
    clock.arb.configure(PoolConfig(pool.hosts, frozenset(), pool.vms, False), clock.now)
    clock.arb.migrate_vm("web", "a", clock.now)
    clock.step()
    _exit(clock, "web", "b")
    clock.step()
    assert [(o.vm, o.host) for o in _orders(clock)] == [("web", "a")]


def test_a_target_that_went_into_maintenance_meanwhile_leaves_the_vm_to_the_planner() -> None:
    """c goes into maintenance between the migration and web's exit: web is not ordered onto
    c, it is placed as any evacuated VM (here on a, the only other host)."""
    clock = _running(_vm("web", host="b"))
    clock.arb.migrate_vm("web", "c", clock.now)
    pool = clock.arb.pool
    clock.arb.configure(PoolConfig(pool.hosts, frozenset({"c"}), pool.vms, True), clock.now)
    clock.step()
    _exit(clock, "web", "b")
    clock.step()
    clock.step()
    assert [(o.vm, o.host) for o in _orders(clock)] == [("web", "a")]


@pytest.mark.parametrize(
    ("vm", "host", "code", "says"),
    [
        ("web", "b", "conflict", "already runs on b"),
        ("nope", "c", "invalid", "no VM named 'nope'"),
        ("web", "zz", "invalid", "no host named 'zz'"),
        ("big", "c", "refused", "cannot start"),
    ],
)
def test_refused_migrations_change_nothing(vm: str, host: str, code: str, says: str) -> None:
    """The same host, an unknown VM or host, or a target without room: refused with its code
    and reason, and no stop is ordered."""
    clock = _running(_vm("web", host="b"), _vm("big", host="a", mib=6000), _vm("fill", "c", 4000))
    with pytest.raises(OpRefused, match=says) as refused:
        clock.arb.migrate_vm(vm, host, clock.now)
    assert refused.value.code == code
    assert clock.step().stops == ()


def test_a_halted_vm_or_one_already_stopping_is_not_migrated() -> None:
    """A halted VM is started with `vm start --on`, not migrated; a VM whose stop is already
    ordered (a migration or a shutdown in progress) is refused until it is over."""
    clock = _running(_vm("web", host="b"), _vm("db", host="a"))
    clock.arb.stop_vm("db")
    clock.step()
    with pytest.raises(OpRefused, match="already being stopped"):
        clock.arb.migrate_vm("db", "c", clock.now)
    _exit(clock, "db", "a")
    clock.step()
    with pytest.raises(OpRefused, match="is not running"):
        clock.arb.migrate_vm("db", "c", clock.now)
    assert not any(isinstance(d, RestartOrdered) for d in clock.decisions)
