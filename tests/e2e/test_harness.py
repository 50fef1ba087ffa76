"""The real-fault lab itself: its split-brain check finds overlapping writers, and it leaves
nothing behind however broken the pool is when a test ends."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import _EXPECTED_REFUSAL, _invariants
from tests.e2e.lab import Lab
from tests.e2e.mounts import leftover_mounts
from tests.e2e.netns import leftover_namespaces
from tests.fixtures.disks import overlaps


def _disk(tmp_path: Path, lines: list[tuple[int, str, str]]) -> Path:
    disk = tmp_path / "vm.log"
    disk.write_text("".join(f"{at} {host} {instance}\n" for at, host, instance in lines))
    return disk


def test_two_instances_writing_in_the_same_interval_are_a_split_brain(tmp_path: Path) -> None:
    """Instance b starts writing before instance a's last write: the pair is reported; a
    later instance that starts after the earlier one stopped is not; a torn last line (a
    kill in mid-write) is ignored."""
    disk = _disk(tmp_path, [(100, "lab1", "a"), (150, "lab2", "b"), (200, "lab1", "a"),
                            (300, "lab2", "b"), (400, "lab3", "c")])  # fmt: skip
    assert overlaps(disk) == [("a", "b")]
    clean = _disk(tmp_path, [(100, "lab1", "a"), (200, "lab1", "a"), (300, "lab2", "b")])
    with clean.open("a") as f:
        f.write("400 lab")
    assert overlaps(clean) == []


@pytest.mark.usefixtures("lab_machine")
def test_closing_a_lab_in_the_middle_of_faults_leaves_nothing() -> None:
    """A lab closed with lab1's collector frozen, lab1's bindfs killed and lab2's link down
    removes every process, mount and namespace it made."""
    lab = Lab()
    try:
        lab.start()
        lab.collectors["lab1"].wait_started()
        lab.collectors["lab2"].wait_started()
        lab.pull("hang", "lab1")
        lab.pull("storage", "lab1")
        lab.pull("network", "lab2")
        nodes = list(lab.fabric.nodes.values())
        assert all(node.pids() for node in nodes if node.name.endswith(("lab1", "lab2")))
    finally:
        problems = lab.close()
    assert problems == []
    assert leftover_namespaces(lab.fabric.prefix) == []
    assert leftover_mounts(lab.root) == []
    assert not lab.root.exists()
    for proc in [*lab.collectors.values(), *lab.services.values()]:
        assert proc.pid is None


@pytest.mark.usefixtures("lab_machine")
def test_a_refusal_by_the_shipped_permissions_fails_the_run() -> None:
    """In a lab on the shipped permissions, a request that a collector's user may not send
    (an operator request) is refused by NATS, and the lab's end-of-test checks report it,
    while the expected refusal of a collector creating the lease bucket (no arbiter runs to
    create it first) is not reported."""
    lab = Lab(secured=True, arbiters=0)
    try:
        lab.start()
        lab.eventually(
            lambda: any(_EXPECTED_REFUSAL.search(v) for v in lab.nats[0].violations()),
            30, "a collector refused the lease bucket's creation",
        )  # fmt: skip
        refused = lab.haplan("status", "--json", user="collector-lab1")
        assert refused.returncode == 77, refused.stderr
        problems = lab.eventually(lambda: _invariants(lab), 30, "the refusal reported")
    finally:
        lab.close()
    assert len(problems) == 1 and '"ha.op.status"' in problems[0], problems
