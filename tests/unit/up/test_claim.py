"""Who owns the runtime directory: one live `haplan up` at a time (its lock), a directory a dead
`up` left behind is taken over and cleared, and a stopped `up` leaves no file behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.up.runtime import HostControls, UpRecord, write_record
from services.up.topology import AlreadyRunning, Layout, RuntimeDirError, claim


def stale_record(pid: int) -> UpRecord:
    return UpRecord(pid, "1", "nats://127.0.0.1:1", "o", "c", "Lab pool", 5.0, "l", f"{pid}-x",
                    {"lab1": HostControls("s", "p", "l")})  # fmt: skip


def test_a_second_claim_while_the_first_is_held_is_refused_naming_the_pid(tmp_path: Path) -> None:
    """While one claim holds the directory, another fails with AlreadyRunning and the pid of
    the runtime file; once released, the directory can be claimed again."""
    directory = tmp_path / "haplan"
    first = claim(directory)
    write_record(directory, stale_record(os.getpid()))
    with pytest.raises(AlreadyRunning) as err:
        claim(directory)
    assert err.value.pid == os.getpid()
    assert f"pid {os.getpid()}" in str(err.value)
    first.release()
    claim(directory).release()


def test_a_claim_is_released_when_its_process_dies_however_it_dies(tmp_path: Path) -> None:
    """A process that claimed the directory and was SIGKILLed leaves its lock free: the next
    claim takes over and clears what the dead run left (its runtime file, logs, store)."""
    directory = tmp_path / "haplan"
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from services.up.topology import claim, Layout\n"
        f"c = claim(Path({str(directory)!r}))\n"
        "c.layout.prepare(['lab1'])\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert done.returncode == -9, done.stderr
    write_record(directory, stale_record(999_999))
    assert (directory / "logs").is_dir()
    held = claim(directory)
    assert sorted(p.name for p in directory.iterdir()) == ["up.lock"]
    held.release()


def test_release_leaves_no_file_and_no_directory(tmp_path: Path) -> None:
    """A run's whole layout (a pulled store link included) is gone after release."""
    directory = tmp_path / "haplan"
    held = claim(directory)
    held.layout.prepare(["lab1", "lab 2"])
    held.layout.plug_storage("lab1", plugged=False)
    write_record(directory, stale_record(os.getpid()))
    held.release()
    assert not directory.exists()


def test_the_storage_cable_swaps_the_host_link_between_shared_and_failing(tmp_path: Path) -> None:
    """Unplugged, every write below the host's store fails (slot and disk alike); plugged back,
    the host reads and writes the shared storage again, seeing what the others wrote."""
    layout = Layout(tmp_path)
    layout.prepare(["lab1", "lab2"])
    lab1, lab2 = layout.host_store("lab1"), layout.host_store("lab2")
    (lab2 / "disks" / "vm.log").write_text("from lab2\n")
    layout.plug_storage("lab1", plugged=False)
    for path in (lab1 / "ha" / "lab1.slot", lab1 / "disks" / "vm.log"):
        with pytest.raises(OSError):
            path.write_text("x")
    with pytest.raises(OSError):
        (lab1 / "ha").mkdir(parents=True, exist_ok=True)
    layout.plug_storage("lab1", plugged=True)
    assert (lab1 / "disks" / "vm.log").read_text() == "from lab2\n"


def test_a_runtime_directory_of_a_too_long_path_is_refused_before_anything(tmp_path: Path) -> None:
    """A path the control socket cannot live under is a RuntimeDirError saying to shorten
    XDG_RUNTIME_DIR, and nothing is created."""
    directory = tmp_path / ("x" * 120) / "haplan"
    with pytest.raises(RuntimeDirError, match="XDG_RUNTIME_DIR"):
        claim(directory)
    assert not directory.exists()
