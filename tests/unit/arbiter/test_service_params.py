"""The arbiter service's in-flight limit: a constructor parameter whose default is the one in
schemas/limits.py, and `haplan arbiter --max-restarts-in-flight` refuses values outside the
range there with one line and exit 2."""

from __future__ import annotations

import subprocess
import sys

import pytest
from nats.aio.client import Client

from schemas.limits import DEFAULT_MAX_IN_FLIGHT, MAX_IN_FLIGHT_RANGE
from services.arbiter.service import ArbiterService
from services.common.settings import BusSettings


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
