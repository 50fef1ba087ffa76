"""`haplan collector --store` refused in one line before anything else happens (no NATS is
needed to be told): a missing store, and a plain directory without --store-local; exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _collector(*args: str) -> subprocess.CompletedProcess[str]:
    # A NATS URL where nothing listens: a refusal must come before any connection attempt.
    env = {**os.environ, "NATS_URL": "nats://127.0.0.1:9"}
    return subprocess.run(
        [sys.executable, "-m", "services.cli.main", "collector", "--host", "lab1", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert done.stdout == ""
    return lines[0]


def test_a_missing_store_is_one_line_and_exit_2_and_is_not_created(tmp_path: Path) -> None:
    """--store naming no directory: exit 2, one line saying it does not exist and is never
    created; afterwards it still does not exist."""
    missing = tmp_path / "mnt" / "haplan"
    line = _one_line(_collector("--store", str(missing), "--vm-driver", "sim"))
    assert f"--store {missing} does not exist" in line and "never" in line
    assert not (tmp_path / "mnt").exists()


def test_a_plain_directory_is_refused_without_store_local(tmp_path: Path) -> None:
    """--store naming a directory that is no mount point: exit 2, one line saying so and
    naming --store-local; nothing is written in it."""
    line = _one_line(_collector("--store", str(tmp_path), "--vm-driver", "sim"))
    assert "is not a mount point" in line and "--store-local" in line
    assert list(tmp_path.iterdir()) == []


def test_a_libvirt_uri_without_the_libvirt_driver_is_refused(tmp_path: Path) -> None:
    """--libvirt-uri with another --vm-driver is a mistake, not silently ignored: exit 2, one
    line naming the option."""
    line = _one_line(_collector("--store", str(tmp_path), "--store-local", "--vm-driver",
                                "process", "--libvirt-uri", "qemu:///system"))  # fmt: skip
    assert "--libvirt-uri applies to --vm-driver libvirt only" in line
