"""The durable view the log folds into (services.arbiter.view)."""

from __future__ import annotations

from schemas.liveness import DeadEvidence
from services.arbiter.view import (
    DeclaredDead,
    Joined,
    LivenessView,
    RestartOrdered,
    VmRunning,
    fold,
    replay,
)
from tests.unit.arbiter.helpers import JOINED, POOL, T_DEAD


def _dead(host: str, inc: str) -> DeclaredDead:
    return DeclaredDead(
        host,
        DeadEvidence(
            rule="timeout", incarnation=inc, t_dead_s=T_DEAD, leader_for_s=99, lease_silent_for_s=99
        ),
    )


def test_vms_of_the_pool_file_belong_to_the_first_incarnation_that_joins() -> None:
    """Before any join a VM has no incarnation; the first join of its host claims it, a
    later incarnation's join does not."""
    view = LivenessView.of_pool(POOL)
    assert view.vms["web"].incarnation is None
    view = replay(POOL, JOINED)
    assert view.vms["web"].incarnation == "a#1"
    view = fold(fold(view, _dead("a", "a#1")), Joined("a", "a#2"))
    assert view.vms["web"].incarnation is None


def test_declared_dead_loses_the_incarnations_vms_and_orders() -> None:
    """Protected VMs wait for a restart, unprotected ones halt, and a VM ordered on the dead
    incarnation loses its order."""
    view = replay(POOL, [*JOINED, RestartOrdered("batch", "a", "a#1", "order-1")])
    view = fold(view, _dead("a", "a#1"))
    assert view.hosts["a"].dead
    states = {name: (vm.state, vm.host, vm.order_id) for name, vm in view.vms.items()}
    assert states == {
        "web": ("restarting", None, None),
        "db": ("halted", None, None),
        "batch": ("restarting", None, None),
    }


def test_a_declaration_about_another_incarnation_changes_nothing() -> None:
    """Declaring a#0 dead while a#1 is the joined incarnation is a no-op."""
    view = replay(POOL, JOINED)
    assert fold(view, _dead("a", "a#0")) == view


def test_running_and_used_memory() -> None:
    """A confirmed VM counts against its host's memory; unknown names are ignored."""
    view = replay(POOL, [*JOINED, _dead("a", "a#1"), RestartOrdered("web", "c", "c#1", "o1")])
    assert view.used_mib("c") == 2048 and view.orders_issued == 1
    view = fold(view, VmRunning("web", "c", "c#1"))
    assert view.vms["web"].state == "running"
    assert fold(view, VmRunning("nope", "c", "c#1")) == view
