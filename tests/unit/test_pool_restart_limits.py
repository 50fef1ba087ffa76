"""The pool file's per-VM restart limits (max_restart, max_relocate): optional, defaults 2
and 2, integers from 0 to 100; anything else is one line naming the VM and the key."""

from __future__ import annotations

import pytest

from schemas import PoolError, parse_pool
from schemas.pool import VM
from services.arbiter.view import VmRecord

HOSTS = "hosts: [{name: a, memory_mib: 1024}]\n"


def _pool(fields: str) -> str:
    return f"name: p\n{HOSTS}vms: [{{name: v, memory_mib: 1{fields}}}]\n"


def test_limits_default_to_two_and_two() -> None:
    """A VM entry without the keys gets max_restart 2 and max_relocate 2."""
    vm = parse_pool(_pool("")).vms[0]
    assert (vm.max_restart, vm.max_relocate) == (2, 2)


def test_limits_are_read() -> None:
    """Given values are kept, 0 included (no try at all)."""
    vm = parse_pool(_pool(", max_restart: 0, max_relocate: 7")).vms[0]
    assert (vm.max_restart, vm.max_relocate) == (0, 7)


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        (", max_restart: -1", "max_restart"),
        (", max_relocate: 101", "max_relocate"),
        (", max_restart: 1.5", "max_restart"),
        (", max_relocate: 'two'", "max_relocate"),
    ],
)
def test_absurd_limits_are_one_line(fields: str, key: str) -> None:
    """Negative, above 100, or not an integer: a one-line PoolError naming the VM and key."""
    with pytest.raises(PoolError) as caught:
        parse_pool(_pool(fields), "p.yaml")
    message = str(caught.value)
    assert "\n" not in message and "'v'" in message and key in message


@pytest.mark.parametrize(
    ("priority", "agile", "restartable"),
    [("restart", True, True), ("best-effort", True, True), ("best-effort", False, False),
     ("", True, False), ("", False, False)],
)  # fmt: skip
def test_restartable_is_priority_and_agility(priority: str, agile: bool, restartable: bool) -> None:
    """HA restarts a VM of restart or best-effort priority whose disks can move, no other;
    the arbiter's view asks the same rule."""
    vm = VM.model_validate({"name": "v", "memory_mib": 512, "ha_restart_priority": priority,
                            "agile": agile})  # fmt: skip
    assert vm.restartable is restartable
    assert VmRecord("v", vm, "halted").managed is restartable
