"""When `haplan up` starts a process of the pool again after it exited (pure: no IO, no clock).

A collector that fenced (exit 75) is a host rebooting: it comes back after a short pause, every
time, as a real host would. Any other exit is unexpected (a crash, a bad configuration): the
process is started again with a backoff that doubles while it keeps failing soon after start,
so a broken one is retried without spinning, and a flaky one that ran a while starts over at
the first step. A powered-off host stays off until healed; nothing restarts while `up` stops.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.common.exit_codes import EXIT_FENCED

# Long enough to read as a reboot in the view, short enough to keep the demo moving.
REBOOT_S = 1.0
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 10.0
# A run at least this long was healthy: the next failure starts the backoff over.
STABLE_S = 30.0


@dataclass(frozen=True, slots=True)
class Restart:
    delay_s: float
    streak: int  # unexpected exits in a row, each soon after its start
    reason: str


@dataclass(frozen=True, slots=True)
class Hold:
    reason: str


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        return f"killed by signal {-returncode}"
    if returncode == EXIT_FENCED:
        return "fenced (exit 75)"
    return f"exit {returncode}"


def after_exit(
    *,
    returncode: int,
    ran_for_s: float,
    streak: int,
    is_host: bool,
    powered: bool,
    stopping: bool,
) -> Restart | Hold:
    """What to do once a process ended with `returncode` after running `ran_for_s`;
    `streak` is the number of quick unexpected exits before this one."""
    if stopping:
        return Hold("haplan up is stopping")
    if not powered:
        return Hold("powered off: starts again when healed")
    if is_host and returncode == EXIT_FENCED:
        return Restart(REBOOT_S, 0, "the host fenced itself: rebooting")
    streak = 1 if ran_for_s >= STABLE_S else streak + 1
    delay = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** (streak - 1))
    return Restart(delay, streak, f"unexpected {describe_exit(returncode)}: restarting")
