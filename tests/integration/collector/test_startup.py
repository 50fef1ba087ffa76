"""How a collector starts: waiting for the pool, refusing a host the pool does not have, and
killing the VMs an earlier incarnation of its host left behind before it joins."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from services.common.lifetime import die_with_parent
from services.drivers import vm_instance
from tests.integration.collector.conftest import Lab, create_pool
from tests.integration.collector.harness import eventually, pid_alive


async def test_waits_for_the_pool_saying_why(empty_lab: Lab) -> None:
    """Started before `haplan pool create`, the collector logs that it waits for the pool, and
    joins once the pool is in the log."""
    await empty_lab.arbiter.start()
    collector = await empty_lab.spawn()
    await eventually(lambda: "waiting for the pool" in collector.log(), 30, "the wait logged")
    assert collector.reports == []
    await create_pool(empty_lab.nc)
    await collector.member()


async def test_an_unknown_host_is_one_line_and_exit_2(lab: Lab) -> None:
    """`haplan collector --host` naming no host of the pool: exit 2, one line naming the host
    and the pool's hosts, no traceback."""
    env = {**os.environ, "NATS_URL": lab.server.url}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.cli.main", "collector", "--host", "lab9",
        "--store", str(lab.store), "--store-local", env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    _out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1, err.decode()
    assert "'lab9' is not in pool 'Collector lab'" in lines[0]
    assert "lab1, lab2" in lines[0]


async def test_kills_vms_an_earlier_incarnation_left_before_joining(lab: Lab) -> None:
    """A VM process of this host still writing its disk in this store (its collector was
    killed) is killed before the new incarnation asks to join."""
    disks = lab.store / "disks"
    disks.mkdir()
    leftover = subprocess.Popen(
        [sys.executable, "-m", vm_instance.__name__, "--disk", str(disks / "Old.log"),
         "--host", "lab1", "--instance", "from-before"],
        start_new_session=True, preexec_fn=die_with_parent,
    )  # fmt: skip
    bystander = subprocess.Popen(
        [sys.executable, "-m", vm_instance.__name__, "--disk", str(disks / "Other.log"),
         "--host", "lab2", "--instance", "lab2s"],
        start_new_session=True, preexec_fn=die_with_parent,
    )  # fmt: skip
    try:
        await eventually(lambda: (disks / "Old.log").exists(), 30, "the leftover writes")
        collector = await lab.spawn()
        await eventually(lambda: leftover.poll() is not None, 30, "the leftover killed")
        member = await collector.member()
        assert lab.arbiter.joins and member.vms == ()
        log = collector.log()
        assert log.index("killed VMs an earlier incarnation left") < log.index("asking the arbiter")
        assert pid_alive(bystander.pid), "a VM of another host must be left alone"
    finally:
        for proc in (leftover, bystander):
            proc.kill()
            proc.wait()
