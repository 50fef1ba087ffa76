"""The device watchdog's timing against T (services.common.watchdog_timing)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.common.timers import Timers
from services.common.watchdog_timing import (
    default_device_timeout_s,
    device_timeout_problem,
    highest_device_timeout_s,
    lowest_device_timeout_s,
    may_pet,
)

# T, interval, T + margin, T_dead, the device timeouts that fit, the default: docs/protocol.md's
# table "The watchdog and its timing table".
TABLE = [
    (3.0, 0.3, 3.6, 4.2, (1, 3), 3),
    (5.0, 0.5, 6.0, 7.0, (2, 5), 5),
    (10.0, 1.0, 12.0, 14.0, (3, 10), 10),
    (30.0, 3.0, 36.0, 42.0, (9, 30), 30),
    (60.0, 3.0, 66.0, 72.0, (9, 60), 60),
]


@pytest.mark.parametrize(("t", "interval", "deadline", "t_dead", "fits", "default"), TABLE)
def test_the_timing_table(
    t: float, interval: float, deadline: float, t_dead: float, fits: tuple[int, int], default: int
) -> None:
    """For each T of the documented table: the interval, T + margin, T_dead, the whole-second
    device timeouts accepted (exactly those from the lowest to the highest) and the default."""
    timers = Timers.from_timeout(t)
    assert timers.interval_s == pytest.approx(interval)
    assert timers.watchdog_deadline_s == pytest.approx(deadline)
    assert timers.t_dead_s == pytest.approx(t_dead)
    accepted = [d for d in range(0, 200) if device_timeout_problem(timers, d) is None]
    assert accepted == list(range(fits[0], fits[1] + 1))
    assert default_device_timeout_s(timers) == default


@pytest.mark.parametrize("t", [row[0] for row in TABLE])
def test_a_timeout_too_long_or_too_short_is_refused_with_its_reason(t: float) -> None:
    """One second above the highest fit names the watchdog deadline and T_dead; one below the
    lowest says it would reset healthy hosts; both give the range."""
    timers = Timers.from_timeout(t)
    high = math.floor(highest_device_timeout_s(timers)) + 1
    too_long = device_timeout_problem(timers, high)
    assert too_long is not None and "T_dead" in too_long and "must lie in" in too_long
    low = math.ceil(lowest_device_timeout_s(timers)) - 1
    too_short = device_timeout_problem(timers, low)
    assert too_short is not None
    assert ("must lie in" if low >= 1 else "whole number of seconds") in too_short


@given(st.floats(min_value=0.1, max_value=10_000))
def test_every_accepted_timeout_fires_before_t_dead(t: float) -> None:
    """For any T and any accepted device timeout D: a pet allowed by the pet rule at proof age
    a (pet_until = p + T + margin) makes the device fire by pet_until + I = p + T + 3 I, at
    least one interval before T_dead after the proof; a healthy host (proof up to three
    intervals old) is allowed to pet; and D outlasts two intervals between pets."""
    timers = Timers.from_timeout(t)
    i = timers.interval_s
    default = default_device_timeout_s(timers)
    if default is None:
        assert highest_device_timeout_s(timers) < max(1.0, lowest_device_timeout_s(timers))
        return
    for d in {default, math.ceil(max(1.0, lowest_device_timeout_s(timers)))}:
        assert device_timeout_problem(timers, d) is None
        pet_until = timers.watchdog_deadline_s  # the proof at time 0
        for age in (0.0, i, 2 * i, 3 * i, t / 2, t, t + i, t + 2 * i):
            if may_pet(pet_until - age, d, i):
                assert age + d <= pet_until + i + 1e-9 * t
                assert age + d <= timers.t_dead_s - i + 1e-9 * t
        # (just under 3 I: exactly at the bound, float rounding decides)
        assert may_pet(pet_until - 3 * i * (1 - 1e-9), d, i), "a healthy host must pet"
        assert d > 2 * i


@given(st.floats(min_value=1.0, max_value=10_000))
def test_a_healthy_host_outlives_the_tick_that_extends_its_deadline(t: float) -> None:
    """The global bus outage case (simulator seeds 2591 and 9931): a host pets every interval
    while the pet rule allows, and its core extends pet_until only at its first tick after the
    proof is T old, as late as p + T + I. For every accepted D and every phase of the ticks,
    the device, fired by the last pet taken before that tick, fires at least one interval
    after it, so the extended deadline's pet comes in time."""
    timers = Timers.from_timeout(t)
    i = timers.interval_s
    default = default_device_timeout_s(timers)
    if default is None:
        return
    pet_until = timers.watchdog_deadline_s  # the proof at time 0
    for d in {default, math.ceil(max(1.0, lowest_device_timeout_s(timers)))}:
        for phase in (0.0, 0.25, 0.5, 0.75, 0.999):
            ticks = [(k + phase) * i for k in range(int((t + 2 * i) / i) + 2)]
            extending = next(now for now in ticks if now >= t)  # the first tick after T
            last_pet = max(now for now in ticks if now < extending and
                           may_pet(pet_until - now, d, i))  # fmt: skip
            assert last_pet + d >= extending + i - 1e-9 * t


@pytest.mark.parametrize("t", [29.0, 7.0, 11.0, 13.0, 17.0, 23.0, 0.7 * 10, 3.3])
def test_the_highest_timeout_is_t_itself_whatever_the_rounding(t: float) -> None:
    """T = 29 s accepts D = 29 s (the bound once came out as 28.999999999999996 and refused
    it), and every whole T is its own default."""
    timers = Timers.from_timeout(t)
    assert highest_device_timeout_s(timers) == t
    if t == int(t):
        assert device_timeout_problem(timers, int(t)) is None
        assert default_device_timeout_s(timers) == int(t)


def test_the_pet_rule_lets_the_device_fire_one_interval_after_the_deadline() -> None:
    """may_pet: true exactly when the core's deadline plus one interval is at least the device
    timeout away (the device then fires by pet_until + I)."""
    assert may_pet(30.0, 30, 3.0)
    assert may_pet(27.0, 30, 3.0)
    assert not may_pet(26.999, 30, 3.0)
    assert not may_pet(0.0, 1, 0.3)
    assert may_pet(0.7, 1, 0.3)


def test_a_t_below_a_second_has_no_device_timeout() -> None:
    """T = 0.5 s: the range [0.15, 0.5] s holds no whole second, so there is no default and
    every whole second is refused."""
    timers = Timers.from_timeout(0.5)
    assert default_device_timeout_s(timers) is None
    assert all(device_timeout_problem(timers, d) is not None for d in range(0, 5))
