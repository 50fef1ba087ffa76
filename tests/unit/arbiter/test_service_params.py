"""The arbiter service's in-flight limit: a constructor parameter whose default is the one in
schemas/limits.py, and `haplan arbiter --max-restarts-in-flight` refuses values outside the
range there with one line and exit 2; its store (`--store DIR`) is checked alike."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from nats.aio.client import Client

from schemas.limits import DEFAULT_MAX_IN_FLIGHT, MAX_IN_FLIGHT_RANGE
from services.arbiter.service import ArbiterService
from services.common.settings import BusSettings
from services.common.store_root import StoreRoot


def test_max_in_flight_is_a_constructor_parameter_with_the_shared_default() -> None:
    """Left out, the service takes schemas.limits' default; given, it takes the value."""
    settings = BusSettings(nats_url="nats://127.0.0.1:4222")
    assert ArbiterService(Client(), settings, "a").max_in_flight == DEFAULT_MAX_IN_FLIGHT
    assert ArbiterService(Client(), settings, "a", max_in_flight=3).max_in_flight == 3


@pytest.mark.parametrize("value", [MAX_IN_FLIGHT_RANGE[0] - 1, MAX_IN_FLIGHT_RANGE[1] + 1])
def test_an_out_of_range_max_in_flight_is_one_line_and_exit_2(value: int) -> None:
    """Below or above the range, the arbiter does not start: one stderr line, exit 2."""
    result = subprocess.run(
        [sys.executable, "-m", "services.cli.main", "arbiter", "--max-restarts-in-flight",
         str(value)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "--max-restarts-in-flight" in lines[0], result.stderr
    assert f"give {MAX_IN_FLIGHT_RANGE[0]} to {MAX_IN_FLIGHT_RANGE[1]}" in lines[0]


def _arbiter(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli.main", "arbiter", "--nats", "nats://127.0.0.1:1",
         *args],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_a_store_that_is_missing_or_no_mount_point_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """`haplan arbiter --store DIR` checks its mount as the collector does, before the bus: a
    missing DIR (never created) and a plain directory without --store-local are refused with
    one stderr line and exit 2; --store-local alone is refused too."""
    missing = _arbiter("--store", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and len(missing.stderr.splitlines()) == 1, missing.stderr
    assert "does not exist" in missing.stderr and not (tmp_path / "nowhere").exists()
    plain = _arbiter("--store", str(tmp_path))
    assert plain.returncode == 2 and len(plain.stderr.splitlines()) == 1, plain.stderr
    assert "not a mount point" in plain.stderr
    alone = _arbiter("--store-local")
    assert alone.returncode == 2 and "--store-local without --store" in alone.stderr


def test_the_store_is_a_constructor_parameter_that_makes_the_core_read_it(tmp_path: Path) -> None:
    """Left out, the service has no store of its own (the old rule, with the warning at
    start); given, it keeps the root for the reads."""
    settings = BusSettings(nats_url="nats://127.0.0.1:4222")
    assert ArbiterService(Client(), settings, "a").store_root is None
    root = StoreRoot(tmp_path, local=True)
    assert ArbiterService(Client(), settings, "a", store_root=root).store_root is root
