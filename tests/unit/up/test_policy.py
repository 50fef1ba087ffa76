"""The supervisor's restart policy: a fenced collector reboots after a short pause, every time;
other exits back off while they keep coming soon after start; nothing restarts while the host
is powered off or `haplan up` stops."""

from __future__ import annotations

import pytest

from services.up.policy import (
    BACKOFF_FIRST_S,
    BACKOFF_MAX_S,
    EXIT_FENCED,
    REBOOT_S,
    STABLE_S,
    Hold,
    Restart,
    after_exit,
)


def decide(
    returncode: int,
    *,
    ran_for_s: float = 1.0,
    streak: int = 0,
    is_host: bool = True,
    powered: bool = True,
    stopping: bool = False,
) -> Restart | Hold:
    return after_exit(
        returncode=returncode,
        ran_for_s=ran_for_s,
        streak=streak,
        is_host=is_host,
        powered=powered,
        stopping=stopping,
    )


def test_a_fenced_collector_reboots_after_the_reboot_pause_however_often_it_fenced() -> None:
    """Exit 75 of a host's collector restarts it after REBOOT_S, with no backoff even after
    many quick fences in a row (a host keeps rebooting, as a real one would)."""
    for streak in (0, 1, 7):
        decision = decide(EXIT_FENCED, ran_for_s=0.5, streak=streak)
        assert decision == Restart(REBOOT_S, 0, decision.reason)
        assert "fenced" in decision.reason


def test_exit_75_of_a_service_that_is_not_a_host_is_an_unexpected_exit() -> None:
    """Only a collector fences: the arbiter or planner exiting 75 backs off like a crash."""
    decision = decide(EXIT_FENCED, is_host=False)
    assert isinstance(decision, Restart)
    assert (decision.delay_s, decision.streak) == (BACKOFF_FIRST_S, 1)


def test_quick_unexpected_exits_double_the_backoff_up_to_its_cap() -> None:
    """A process that keeps crashing soon after start waits 0.5, 1, 2, 4 ... s, never more
    than BACKOFF_MAX_S, and the streak counts the crashes."""
    streak, delays = 0, []
    for _ in range(8):
        decision = decide(1, ran_for_s=0.2, streak=streak, is_host=False)
        assert isinstance(decision, Restart)
        delays.append(decision.delay_s)
        streak = decision.streak
    assert delays[:5] == [BACKOFF_FIRST_S * 2**i for i in range(5)]
    assert max(delays) == BACKOFF_MAX_S
    assert delays == sorted(delays)
    assert streak == 8


def test_a_run_that_lasted_starts_the_backoff_over() -> None:
    """A crash after a healthy run of at least STABLE_S waits only the first step again."""
    decision = decide(-11, ran_for_s=STABLE_S, streak=6)
    assert isinstance(decision, Restart)
    assert (decision.delay_s, decision.streak) == (BACKOFF_FIRST_S, 1)
    assert "signal 11" in decision.reason


@pytest.mark.parametrize("returncode", [EXIT_FENCED, -9, 0, 2])
def test_a_powered_off_host_stays_off_whatever_its_exit(returncode: int) -> None:
    """With its power pulled, a host is not started again, fenced or not."""
    decision = decide(returncode, powered=False)
    assert isinstance(decision, Hold)
    assert "healed" in decision.reason


@pytest.mark.parametrize("is_host", [True, False])
def test_nothing_restarts_while_up_stops(is_host: bool) -> None:
    """Once `haplan up` stops, an exit (even a fence) is final."""
    assert isinstance(decide(EXIT_FENCED, is_host=is_host, stopping=True), Hold)
    assert isinstance(decide(0, is_host=is_host, stopping=True), Hold)
