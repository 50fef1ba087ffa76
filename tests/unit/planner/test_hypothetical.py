"""What-if changes: their semantics and their one-line errors."""

from __future__ import annotations

import pytest

from schemas import VM, Host, load_pool
from services.planner import PoolChange, apply_change

LAB = load_pool("schemas/examples/lab.yaml")


def test_added_vm_runs_where_its_host_says() -> None:
    """An added VM joins the pool and takes memory on its host."""
    before = LAB.free_mib("lab2")
    after = apply_change(LAB, PoolChange(add_vms=(VM(name="db", memory_mib=1000, host="lab2"),)))
    assert after.vm("db").host == "lab2"
    assert after.free_mib("lab2") == before - 1000
    assert LAB.free_mib("lab2") == before, "the original pool must not change"


def test_removed_host_leaves_its_vms_halted() -> None:
    """Removing a host keeps its VMs but halts them (with ntol lowered to stay valid)."""
    after = apply_change(LAB, PoolChange(remove_hosts=("lab1",), set_ntol=0))
    assert after.host_names == ("lab2",)
    assert after.vm("Minion 1").host is None
    assert after.vm("Minion 1").ha_restart_priority == "restart"


def test_priority_ntol_host_and_vm_removal_apply_in_order() -> None:
    """A host is added, a VM removed, a priority and ntol changed, all in one change."""
    added = Host(name="lab3", memory_mib=8192)
    after = apply_change(
        LAB,
        PoolChange(
            add_hosts=(added,),
            add_vms=(VM(name="web", memory_mib=512, host="lab3", ha_restart_priority="restart"),),
            remove_vms=("Minion 1",),
            set_priority=(("web", "best-effort"),),
            set_ntol=2,
        ),
    )
    assert after.host_names == ("lab1", "lab2", "lab3")
    assert [v.name for v in after.vms] == ["web"]
    assert after.vm("web").ha_restart_priority == "best-effort"
    assert after.ha.host_failures_to_tolerate == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            PoolChange(remove_hosts=("lab9",)),
            "unknown host 'lab9': the pool's hosts are lab1, lab2",
        ),
        (PoolChange(remove_vms=("ghost",)), "unknown VM 'ghost': no VM of that name in the pool"),
        (
            PoolChange(set_priority=(("ghost", "restart"),)),
            "unknown VM 'ghost': no VM of that name in the pool",
        ),
    ],
)
def test_unknown_names_are_key_errors(change: PoolChange, message: str) -> None:
    """Unknown host or VM names raise KeyError with a clean one-line message."""
    with pytest.raises(KeyError) as err:
        apply_change(LAB, change)
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (PoolChange(set_ntol=2), "host_failures_to_tolerate is 2"),
        (PoolChange(remove_hosts=("lab1",)), "host_failures_to_tolerate is 1"),
        (PoolChange(add_hosts=(Host(name="lab1", memory_mib=10),)), "duplicate host name 'lab1'"),
        (
            PoolChange(add_vms=(VM(name="big", memory_mib=40000, host="lab1"),)),
            "host 'lab1' is over capacity",
        ),
        (
            PoolChange(add_vms=(VM(name="x", memory_mib=1, host="nowhere"),)),
            "runs on host 'nowhere', which is not in the pool",
        ),
        (
            PoolChange(
                add_vms=(VM(name="local", memory_mib=1, host="lab1", agile=False),),
                set_priority=(("local", "restart"),),
            ),
            "agile: false",
        ),
    ],
)
def test_impossible_results_are_one_line_value_errors(change: PoolChange, fragment: str) -> None:
    """A change that breaks a pool rule raises ValueError: one line, naming the rule broken."""
    with pytest.raises(ValueError) as err:
        apply_change(LAB, change)
    text = str(err.value)
    assert fragment in text
    assert "\n" not in text
    assert text.startswith("after the change, ")
