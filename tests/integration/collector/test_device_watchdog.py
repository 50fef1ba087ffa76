"""`haplan collector --watchdog linux` refusing to start: one line on stderr, exit 2, and no
heartbeat, report, join request or slot of the host before it exits (docs/protocol.md, The
watchdog and its timing table). The pool's T is 2 s: device timeouts in [1, 2] s fit."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nats.aio.msg import Msg

from schemas.messages import StartOrder
from services.collector.devices import WatchdogChoice
from services.collector.guarded_vms import GuardedVMs
from services.common.timers import Timers
from services.common.wire import (
    fenced_subject,
    heartbeat_subject,
    join_subject,
    observation_subject,
    report_subject,
)
from services.drivers import ProcessWatchdog
from tests.integration.collector.conftest import Lab


async def _refused(lab: Lab, *extra: str) -> str:
    """Run lab1's collector with `extra`; assert it exits 2 having said one line and sent or
    written nothing of lab1's; that line."""
    heard: list[bytes] = []

    async def on_any(msg: Msg) -> None:
        heard.append(msg.data)

    subjects = [f("lab1") for f in (heartbeat_subject, observation_subject, report_subject,
                                    join_subject, fenced_subject)]  # fmt: skip
    subs = [await lab.nc.subscribe(s, cb=on_any) for s in subjects]
    await lab.nc.flush()
    env = {**os.environ, "NATS_URL": lab.server.url}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.cli.main", "collector", "--host", "lab1",
        "--store", str(lab.store), "--store-local", *extra, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    _out, err = await asyncio.wait_for(proc.communicate(), 60)
    await lab.nc.flush()
    for sub in subs:
        await sub.unsubscribe()
    lines = err.decode().strip().splitlines()
    assert proc.returncode == 2, err.decode()
    assert len(lines) == 1, err.decode()
    assert heard == [], "the refused collector published"
    assert not (lab.store / "ha" / "lab1").exists(), "the refused collector wrote its slot"
    assert list(lab.store.glob("ha/*lab1*")) == []
    return lines[0]


async def test_a_device_that_is_no_watchdog_is_refused(lab: Lab) -> None:
    """--watchdog-device /dev/null: a character device that fails the real WDIOC_GETSUPPORT
    ioctl; the collector refuses to start before its first heartbeat."""
    line = await _refused(lab, "--watchdog", "linux", "--watchdog-device", "/dev/null")
    assert "/dev/null does not answer WDIOC_GETSUPPORT" in line


async def test_a_plain_file_is_never_written_as_a_device(lab: Lab, tmp_path: Path) -> None:
    """--watchdog-device naming a plain file: refused before opening it, the file unchanged
    (a pet or the magic 'V' would overwrite its first byte)."""
    victim = tmp_path / "precious"
    victim.write_bytes(b"keep me")
    line = await _refused(lab, "--watchdog", "linux", "--watchdog-device", str(victim))
    assert f"cannot open {victim}: not a character device" in line
    assert victim.read_bytes() == b"keep me"


async def test_a_timeout_beyond_t_is_refused(lab: Lab, tmp_path: Path) -> None:
    """--watchdog-timeout 3 with T = 2 s: the device would fire after T_dead (2.8 s); refused
    before the device is even opened (it does not exist)."""
    line = await _refused(lab, "--watchdog", "linux", "--watchdog-timeout", "3",
                          "--watchdog-device", str(tmp_path / "absent"))  # fmt: skip
    assert "T_dead 2.8s" in line and "[0.6, 2]s" in line


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (("--watchdog", "linux", "--watchdog-timeout", "0"), "greater than or equal to 1"),
        (("--watchdog", "process", "--watchdog-timeout", "2"), "apply to --watchdog linux only"),
        (("--watchdog-device", "/dev/watchdog1"), "apply to --watchdog linux only"),
        (("--watchdog", "linux", "--watchdog-timeout", "x"), "--watchdog-timeout"),
    ],
)
async def test_bad_watchdog_options_are_one_line_and_exit_2(
    lab: Lab, extra: tuple[str, ...], says: str
) -> None:
    """Watchdog options that make no sense are refused by the CLI in one line, exit 2."""
    line = await _refused(lab, *extra)
    assert says in line


async def test_a_clean_stop_disarms_only_once_no_vm_runs(tmp_path: Path) -> None:
    """GuardedVMs.disarm with a VM still running leaves the (process) watchdog armed and alive;
    after the VMs are killed, disarm stands it down (it exits 0, having killed nothing)."""
    vms = GuardedVMs("lab1", tmp_path, Timers.from_timeout(30.0), "sim", WatchdogChoice("process"),
                     now=time.monotonic(), fencing=lambda: False)  # fmt: skip
    dog = vms.watchdog
    assert isinstance(dog, ProcessWatchdog)
    try:
        order = StartOrder(order_id="o-1", vm="Minion 1", host="lab1", incarnation="i-1")
        assert vms.start(order, time.monotonic()) is None
        await vms.disarm()
        assert dog.alive(), "disarmed with a VM running"
        await vms.kill_all(fire=False)
        assert vms.running() == []
        await vms.disarm()
        assert dog.wait(timeout=30) == 0
    finally:
        if dog.alive():
            dog.fire()
