"""The timers derived from the one knob T (services.common.timers)."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.common.timers import Timers


@pytest.mark.parametrize(
    ("timeout", "interval", "t_dead"),
    [(3.0, 0.3, 4.2), (10.0, 1.0, 14.0), (30.0, 3.0, 42.0), (60.0, 3.0, 72.0)],
)
def test_timers_follow_the_design(timeout: float, interval: float, t_dead: float) -> None:
    """Interval min(3, T/10), watchdog at T + 2 intervals, T_dead = T + 4 intervals."""
    t = Timers.from_timeout(timeout)
    assert t.interval_s == pytest.approx(interval)
    assert t.watchdog_deadline_s == pytest.approx(timeout + 2 * interval)
    assert t.t_dead_s == pytest.approx(t_dead)


@given(st.floats(min_value=0.01, max_value=10_000))
def test_every_timeout_gives_safe_timers(timeout: float) -> None:
    """For any T: T_dead > T + margin + one interval, and the freshness bound holds."""
    t = Timers.from_timeout(timeout)
    assert t.unsafe_because() == []
    assert t.t_dead_s > t.timeout_s + t.watchdog_margin_s + t.interval_s
    assert 0 < t.advertise_s < t.timeout_s


def test_unsafe_timers_are_named() -> None:
    """A T_dead at or below the watchdog deadline is reported as unsafe, with the reason."""
    t = dataclasses.replace(Timers.from_timeout(30.0), t_dead_s=36.0)
    assert any("watchdog deadline" in p for p in t.unsafe_because())


@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_a_non_positive_timeout_is_refused(bad: float) -> None:
    """ha.timeout_s must be positive."""
    with pytest.raises(ValueError, match="must be positive"):
        Timers.from_timeout(bad)
