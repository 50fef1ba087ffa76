"""The device watchdog's timing (`--watchdog linux`), derived from T (services.common.timers).

A hardware (or softdog) watchdog takes a relative timeout D in whole seconds: each pet restarts
it, and it resets the host D after the last pet. The collector's core gives an absolute deadline
instead: `pet_until` = p + T + margin, where p is the older of the proofs of life its stay
verdict rests on. The safety argument (timers: T_dead > T + margin) needs the host reset by
`pet_until`, so:

- the pet rule: the device is petted at `now` only if now + D <= pet_until (`may_pet`). Then
  the device fires at last pet + D <= pet_until = p + T + margin = p + T_dead - 2 I: the host
  is reset at least two intervals before the arbiter may declare it dead (its T_dead runs from
  when it saw the proof, which is after p). A pet it may not take is skipped, not shortened:
  the device keeps running down from the previous pet, which already fitted.
- D + 2 I <= T + margin, i.e. D <= T (`highest_device_timeout_s`): a healthy collector pets
  once per interval after its proof work, which is bounded by one interval, so its proof is up
  to one interval old when it pets; the second interval lets one late proof (one renewal that
  missed its interval) pass without a skipped pet. A larger D would skip healthy hosts' pets.
- D >= 3 I (`lowest_device_timeout_s`): two pets of a healthy collector are at most about two
  intervals apart (an interval's proof work may take the whole interval), so a device that
  fires sooner could reset a healthy host.

The default D is the highest whole second allowed, floor(T): it rides out the longest stall of
the collector that its own deadline also rides out. A T whose allowed range holds no whole
second (T below one second) cannot use a device watchdog.
"""

from __future__ import annotations

import math

from services.common.timers import Timers


def lowest_device_timeout_s(timers: Timers) -> float:
    return 3 * timers.interval_s


def highest_device_timeout_s(timers: Timers) -> float:
    return timers.watchdog_deadline_s - 2 * timers.interval_s


def default_device_timeout_s(timers: Timers) -> int | None:
    """The device timeout to ask for when the operator gives none; None when no whole second
    fits (services.common.watchdog_timing)."""
    best = math.floor(highest_device_timeout_s(timers))
    if best < 1 or best < lowest_device_timeout_s(timers):
        return None
    return best


def device_timeout_problem(timers: Timers, timeout_s: int) -> str | None:
    """Why a device timeout of `timeout_s` does not fit this pool's T; None when it fits."""
    low, high = lowest_device_timeout_s(timers), highest_device_timeout_s(timers)
    fits = f"with ha.timeout_s {timers.timeout_s:g}s it must lie in [{low:g}, {high:g}]s"
    if timeout_s < 1:
        return f"a watchdog timeout of {timeout_s}s is not a whole number of seconds >= 1"
    if timeout_s > high:
        return (
            f"a watchdog timeout of {timeout_s}s plus two {timers.interval_s:g}s intervals "
            f"exceeds the watchdog deadline T + margin = {timers.watchdog_deadline_s:g}s "
            f"(T_dead {timers.t_dead_s:g}s): {fits}"
        )
    if timeout_s < low:
        return (
            f"a watchdog timeout of {timeout_s}s is under three {timers.interval_s:g}s "
            f"intervals and would reset healthy hosts: {fits}"
        )
    return None


def may_pet(valid_for_s: float, device_timeout_s: float) -> bool:
    """The pet rule: pet only if the core's deadline is at least one device timeout away, so
    that the device fires no later than the deadline (`valid_for_s` = pet_until - now)."""
    return valid_for_s >= device_timeout_s
