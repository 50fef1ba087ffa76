"""Inputs the collector shell reports about its VMs."""

from __future__ import annotations

from tests.unit.collector.helpers import member, order


def test_a_stopped_vm_leaves_the_heartbeat_and_may_be_ordered_again() -> None:
    """After `vm_stopped`, the VM is no longer advertised as running here, and a new order for
    it (a restart after a guest halt) is executed instead of being taken for a duplicate."""
    c = member(now=0.0, vms=("web", "db"))
    c.vm_stopped("web")
    out = c.tick(1.0)
    assert out.heartbeat.vms == ("db",)
    c.order(order("web"))
    assert [o.vm for o in c.tick(2.0).starts] == ["web"]
