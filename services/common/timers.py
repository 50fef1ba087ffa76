"""Every liveness timer, derived from the one knob `ha.timeout_s` = T (DESIGN.md, Liveness).

Each timer is a duration measured on the observer's own monotonic clock; no decision compares
two hosts' clocks. The derivation, and why the margins are what they are:

- interval I = min(3, T/10): a host gets about ten chances to prove it is alive within T.
- a host fences after T without proof of life (lease renewal, slot write).
- watchdog margin = 2 I: a collector notices an expired proof at its next evaluation (up to
  one interval late) and then kills its VMs; the second interval is the budget for the kills
  and for scheduling slop. The watchdog deadline is the last proof of life + T + margin, so a
  hung collector's VMs die at most one margin after a healthy collector would have killed them.
- store readings are fresh for F = 3 I: a reading echoes the newest arbiter beacon its observer
  had, and a beacon travels, waits for the observer's next tick and comes back; 3 I covers that
  with message delays of up to one interval each way.
- T_dead = T + 4 I. Two bounds must hold (a test checks both for every T):
  T_dead > T + margin: a hung host's watchdog has fired before the arbiter may declare it dead;
  T_dead >= T + I + F: a host whose slot a fresh reading shows still for T_dead has evaluated
  its table with neither proof and fenced before that reading was taken.
  DESIGN.md's "T_dead > T + watchdog margin + one interval" follows from the first.
- slots and heartbeats advertise lease_ok / store_ok only while the proof is younger than
  T - 3 I: in an outage of the bus (or the store) for every host, all hosts then show the loss
  to each other before any host's own proof runs out, so nobody fences for it (the last
  renewals of two hosts differ by up to one interval plus a delay, and a slot is rewritten every
  interval).
- the arbiter's leader lease is T: a crashed leader is replaced after at most T, and the new
  leader then waits T_dead before it declares anything.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Timers:
    """The liveness timers of one pool; build with `Timers.from_timeout(T)`."""

    timeout_s: float
    interval_s: float
    watchdog_margin_s: float
    fresh_s: float
    t_dead_s: float
    advertise_s: float
    leader_lease_s: float

    @classmethod
    def from_timeout(cls, timeout_s: float) -> Timers:
        if not timeout_s > 0:
            raise ValueError(f"ha.timeout_s must be positive, got {timeout_s!r}")
        interval = min(3.0, timeout_s / 10)
        margin = 2 * interval
        return cls(
            timeout_s=timeout_s,
            interval_s=interval,
            watchdog_margin_s=margin,
            fresh_s=3 * interval,
            t_dead_s=timeout_s + 4 * interval,
            advertise_s=timeout_s - 3 * interval,
            leader_lease_s=timeout_s,
        )

    @property
    def watchdog_deadline_s(self) -> float:
        """From the last proof of life to the watchdog killing the host's VMs."""
        return self.timeout_s + self.watchdog_margin_s

    def unsafe_because(self) -> list[str]:
        """The safety bounds (module docstring) these timers break; empty when they are safe."""
        problems = []
        if not self.t_dead_s > self.watchdog_deadline_s:
            problems.append(
                f"T_dead {self.t_dead_s:g}s must exceed the watchdog deadline "
                f"{self.watchdog_deadline_s:g}s (T + margin)"
            )
        # The freshness bound is met with equality by design: allow for rounding.
        slack = 1e-9 * max(1.0, self.t_dead_s)
        if not self.t_dead_s + slack >= self.timeout_s + self.interval_s + self.fresh_s:
            problems.append(
                f"T_dead {self.t_dead_s:g}s must be at least T + interval + reading freshness "
                f"({self.timeout_s + self.interval_s + self.fresh_s:g}s)"
            )
        if not self.watchdog_margin_s > self.interval_s:
            problems.append("the watchdog margin must exceed one interval")
        return problems
