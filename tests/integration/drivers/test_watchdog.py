"""The `process` watchdog: kills the host's VMs when the collector stops petting it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common.lifetime import die_with_parent
from services.drivers import ProcessVMDriver, ProcessWatchdog

# Generous: the waits end as soon as the kill shows, also on a loaded 2-core machine.
WAIT_S = 30.0


def _alive(proc: subprocess.Popen[bytes]) -> bool:
    return proc.poll() is None


def _sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], preexec_fn=die_with_parent
    )


@pytest.fixture
def sleepers() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    try:
        yield procs
    finally:
        for p in procs:
            p.kill()
            p.wait()


def test_unpetted_watchdog_kills_watched_processes(
    sleepers: list[subprocess.Popen[bytes]],
) -> None:
    """With no pets, the watched VMs are killed at the deadline; unwatched ones live on."""
    watched, bystander = _sleeper(), _sleeper()
    sleepers += [watched, bystander]
    dog = ProcessWatchdog(timeout_s=0.5)
    dog.watch(watched.pid)
    watched.wait(timeout=WAIT_S)
    assert watched.returncode == -signal.SIGKILL
    assert _alive(bystander)
    assert dog.wait(timeout=WAIT_S) == 0


def test_petted_watchdog_kills_nothing(sleepers: list[subprocess.Popen[bytes]]) -> None:
    """While the collector pets in time, the VMs keep running past the timeout."""
    vm = _sleeper()
    sleepers.append(vm)
    # Pets every 0.1 s against a 1 s timeout, for 3 s: a loaded machine's late pet is no kill.
    dog = ProcessWatchdog(timeout_s=1.0)
    dog.watch(vm.pid)
    for _ in range(30):
        time.sleep(0.1)
        dog.pet()
    assert _alive(vm)
    dog.disarm()
    assert _alive(vm)


def test_pet_with_a_validity_sets_the_deadline(sleepers: list[subprocess.Popen[bytes]]) -> None:
    """`pet(S)` moves the deadline to S seconds from now, shorter or longer than the default."""
    short, long_ = _sleeper(), _sleeper()
    sleepers += [short, long_]
    dog_short = ProcessWatchdog(timeout_s=60)
    dog_short.watch(short.pid)
    dog_short.pet(0.3)
    dog_long = ProcessWatchdog(timeout_s=0.2)
    dog_long.watch(long_.pid)
    dog_long.pet(WAIT_S + 30)
    assert short.wait(timeout=WAIT_S) == -signal.SIGKILL
    assert _alive(long_), "a pet valid for a minute must outlast the 0.2 s default"
    dog_long.disarm()


def test_fire_fences_at_once(sleepers: list[subprocess.Popen[bytes]]) -> None:
    """`fire` kills the watched VMs immediately, without waiting for the deadline."""
    vm = _sleeper()
    sleepers.append(vm)
    dog = ProcessWatchdog(timeout_s=60)
    dog.watch(vm.pid)
    dog.fire()
    assert vm.wait(timeout=WAIT_S) == -signal.SIGKILL


def test_dead_collector_is_no_pet(sleepers: list[subprocess.Popen[bytes]]) -> None:
    """If the collector dies (its pipe closes), the deadline still runs out and VMs die."""
    vm = _sleeper()
    sleepers.append(vm)
    dog = ProcessWatchdog(timeout_s=0.5)
    dog.watch(vm.pid)
    dog._pipe.close()
    assert vm.wait(timeout=WAIT_S) == -signal.SIGKILL


def test_hung_collector_process_vms_are_killed(tmp_path: Path) -> None:
    """A SIGSTOPped collector stops petting; its process VMs die at the watchdog deadline."""
    script = tmp_path / "collector.py"
    script.write_text(
        "import sys, time\n"
        "from pathlib import Path\n"
        "from services.drivers import ProcessVMDriver, ProcessWatchdog\n"
        "dog = ProcessWatchdog(timeout_s=1.0)\n"
        "drv = ProcessVMDriver(Path(sys.argv[1]), 'lab1', dog)\n"
        "drv.start('Minion 1', 'i-1')\n"
        "print(drv.pids()[0], flush=True)\n"
        "while True:\n"
        "    dog.pet(); time.sleep(0.1)\n"
    )
    (tmp_path / "disks").mkdir()
    collector = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "disks")],
        stdout=subprocess.PIPE,
        preexec_fn=die_with_parent,
    )
    try:
        assert collector.stdout is not None
        vm_pid = int(collector.stdout.readline())
        time.sleep(2.0)  # twice the watchdog's timeout, petted every 0.1 s
        assert os.path.exists(f"/proc/{vm_pid}"), "a petted watchdog must not kill the VM"
        collector.send_signal(signal.SIGSTOP)
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and _running(vm_pid):
            time.sleep(0.05)
        assert not _running(vm_pid)
    finally:
        collector.send_signal(signal.SIGCONT)
        collector.kill()
        collector.wait()


def _running(pid: int) -> bool:
    """True while the pid exists and is not a zombie (a killed child not yet reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_exits_are_still_reported_after_the_watchdog_fired(tmp_path: Path) -> None:
    """Once the watchdog has fired (and is gone), reaping the killed VMs reports them."""
    dog = ProcessWatchdog(timeout_s=60)
    driver = ProcessVMDriver(tmp_path, "lab1", dog)
    driver.start("Minion 1", "i-1")
    dog.fire()
    deadline = time.monotonic() + WAIT_S
    exits = []
    while not exits and time.monotonic() < deadline:
        exits = driver.reap()
        time.sleep(0.05)
    assert [(e.vm, e.cause) for e in exits] == [("Minion 1", "killed")]
