"""The device watchdog's timing (`--watchdog linux`), derived from T (services.common.timers).

A hardware (or softdog) watchdog takes a relative timeout D in whole seconds: each pet restarts
it, and it resets the host D after the last pet. The collector's core gives an absolute deadline
instead: `pet_until` = p + T + margin = p + T + 2 I, where p is the older of the proofs of life
its stay verdict rests on. With the process watchdog the host dies at `pet_until`; a device
cannot follow it to the second, so the pet rule gives it one interval either way:

- the pet rule: the device is petted at `now` only if now + D <= pet_until + I (`may_pet`).
  Then it fires at last pet + D <= pet_until + I = p + T + 3 I < p + T_dead = p + T + 4 I:
  a hung host is reset at least one interval before the arbiter may declare it dead (its
  T_dead runs from when it saw the proof, which is after p). A pet it may not take is
  skipped, not shortened: the device keeps running down from the previous pet, which fitted.
- why the extra interval: when the proof behind a stay verdict ages out while the host may
  stay (the global bus outage rule), the core extends `pet_until` only at its first tick after
  the proof is T old, which can be as late as p + T + I. A healthy collector pets every
  interval, so its last pet before that tick came at most one interval before the rule's
  limit, and the device fires no sooner than pet_until + I - I = p + T + 2 I: one interval
  after the tick that extends the deadline. Without the extra interval (now + D <= pet_until)
  the device could fire at that very tick, and the simulator found healthy hosts reset in a
  global bus outage (random seeds 2591 and 9931 at T = 30 s).
- D <= T (`highest_device_timeout_s`): a healthy collector's proof is up to one interval old
  when it pets (its proof work is bounded by one interval), so D <= T lets up to two more
  renewals miss their interval (proof age 3 I: T + 3 I - 3 I >= D) without a skipped pet.
- D >= 3 I (`lowest_device_timeout_s`): two pets of a healthy collector are at most about two
  intervals apart (an interval's proof work may take the whole interval), so a device that
  fires sooner could reset a healthy host.

The default D is the highest whole second allowed, floor(T). A T whose allowed range holds no
whole second (T below one second) cannot use a device watchdog.
"""

from __future__ import annotations

import math

from services.common.timers import Timers

# Whole-second timeouts are compared with bounds computed in floats (3 * 0.7 is not 2.1).
_ROUNDING = 1e-9


def lowest_device_timeout_s(timers: Timers) -> float:
    return 3 * timers.interval_s


def highest_device_timeout_s(timers: Timers) -> float:
    # T itself, not T + margin + I - 3 I computed in floats (T = 29 s gave 28.999999999999996).
    return timers.timeout_s


def default_device_timeout_s(timers: Timers) -> int | None:
    """The device timeout to ask for when the operator gives none; None when no whole second
    fits (services.common.watchdog_timing)."""
    best = math.floor(highest_device_timeout_s(timers))
    if best < 1 or best + _ROUNDING < lowest_device_timeout_s(timers):
        return None
    return best


def device_timeout_problem(timers: Timers, timeout_s: int) -> str | None:
    """Why a device timeout of `timeout_s` does not fit this pool's T; None when it fits."""
    low, high = lowest_device_timeout_s(timers), highest_device_timeout_s(timers)
    fits = f"with ha.timeout_s {timers.timeout_s:g}s it must lie in [{low:g}, {high:g}]s"
    if timeout_s < 1:
        return f"a watchdog timeout of {timeout_s}s is not a whole number of seconds >= 1"
    if timeout_s > high + _ROUNDING:
        return (
            f"a watchdog timeout of {timeout_s}s exceeds T: a healthy host whose renewals "
            f"run late would skip its pets (the device must fire within T + 3 intervals "
            f"of the proof, before T_dead {timers.t_dead_s:g}s): {fits}"
        )
    if timeout_s + _ROUNDING < low:
        return (
            f"a watchdog timeout of {timeout_s}s is under three {timers.interval_s:g}s "
            f"intervals and would reset healthy hosts: {fits}"
        )
    return None


def may_pet(valid_for_s: float, device_timeout_s: float, interval_s: float) -> bool:
    """The pet rule: pet only if the device then fires no later than one interval after the
    core's deadline (`valid_for_s` = pet_until - now), still one interval before T_dead; the
    interval is the slack a healthy host needs (module docstring)."""
    return valid_for_s + interval_s >= device_timeout_s
