"""The invariants of DESIGN.md, checked on every step of a simulated run.

1. No VM ever runs on two hosts at the same time: checked whenever an instance starts (the only
   step that can break it), counting an instance from the moment it starts booting.
2. A protected VM of a failed host runs again within T_dead + restart time when capacity allows:
   every kill of a protected VM (power, fence, watchdog) opens an obligation; see `Obligation`.
3. No host that holds the quorum and the store is fenced: checked whenever a host fences or its
   watchdog fires. "Holds" means its whole environment was healthy (powered, not hung, on the
   quorum side with the quorum present, store reachable, no message loss) for the last three
   intervals: long enough for a renewal and a slot write to have been proved.
   Nor is any host fenced in a global bus outage, where fencing helps no one: every powered
   host lost the bus at the same moment (links, partition or quorum) after T_dead of full
   health, every other host had been off for T_dead, no host fenced for 2 T_dead before, and
   nothing else changed since (see `outage_began`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.pool import Pool
from services.common.timers import Timers

POOL = "*pool*"  # pseudo-endpoint for faults that hit everything (quorum loss, bus quality)


@dataclass(frozen=True, slots=True)
class Violation:
    invariant: int
    at: float
    what: str

    def describe(self) -> str:
        return f"invariant {self.invariant} broken at {self.at:.2f}s: {self.what}"


@dataclass(slots=True)
class Obligation:
    """A protected VM killed at `killed_at` on `host` must be up again by
    max(killed_at, start of the current leadership) + budget: a new leader legitimately waits
    T_dead first. The deadline is strict only when nothing else was wrong: every other host and
    every witness healthy from T_dead before the kill until the check, nothing failing anew
    after the kill, and a healthy host with room for the VM; otherwise the final check after
    every fault healed covers it."""

    vm: str
    host: str
    killed_at: float


@dataclass
class Checker:
    pool: Pool
    timers: Timers
    budget_s: float
    violations: list[Violation] = field(default_factory=list)
    running: dict[str, dict[str, bool]] = field(default_factory=dict)  # vm -> host -> booted
    up_at: dict[str, float] = field(default_factory=dict)  # vm -> last time an instance got up
    healthy_since: dict[str, float | None] = field(default_factory=dict)
    disturbed_at: float = 0.0  # when something last went wrong anywhere
    outage_since: float | None = None  # a global bus outage in which nobody may fence
    last_fence_at: float = float("-inf")

    def __post_init__(self) -> None:
        self._vms = {v.name: v for v in self.pool.vms}
        self._capacity = {h.name: h.memory_mib - h.reserved_mib for h in self.pool.hosts}

    def fail(self, invariant: int, at: float, what: str) -> None:
        self.violations.append(Violation(invariant, at, what))

    # Health of the environment ---------------------------------------------------------------

    def set_health(self, endpoint: str, healthy: bool, now: float) -> None:
        was = self.healthy_since.get(endpoint, 0.0)
        if healthy and was is None:
            self.healthy_since[endpoint] = now
        elif not healthy:
            if was is not None:
                self.disturbed_at = now
            self.healthy_since[endpoint] = None

    def healthy_during(self, endpoint: str, start: float) -> bool:
        since = self.healthy_since.get(endpoint, 0.0)
        return since is not None and since <= start

    # Invariant 1 -------------------------------------------------------------------------------

    def vm_started(self, vm: str, host: str, now: float) -> None:
        where = self.running.setdefault(vm, {})
        if where:
            others = ", ".join(sorted(where))
            self.fail(1, now, f"VM {vm!r} started on {host} while it runs on {others}")
        where[host] = False

    def vm_up(self, vm: str, host: str, now: float) -> None:
        where = self.running.get(vm, {})
        if host in where:
            where[host] = True
            self.up_at[vm] = now

    def is_up(self, vm: str) -> bool:
        return any(self.running.get(vm, {}).values())

    def vm_killed(self, vm: str, host: str, now: float) -> Obligation | None:
        self.running.get(vm, {}).pop(host, None)
        spec = self._vms[vm]
        return Obligation(vm, host, now) if spec.protected else None

    def free_mib(self, host: str) -> int:
        used = sum(self._vms[vm].footprint for vm, where in self.running.items() if host in where)
        return self._capacity[host] - used

    # Invariant 3 -------------------------------------------------------------------------------

    def fenced(self, host: str, now: float, how: str) -> None:
        window = 3 * self.timers.interval_s
        if self.healthy_during(host, now - window) and self.healthy_during(POOL, now - window):
            self.fail(3, now, f"{host} {how} although it held the quorum and the store")
        elif self.outage_since is not None:
            self.fail(
                3,
                now,
                f"{host} {how} in a global bus outage (since {self.outage_since:.2f}s: every "
                "host that can act lost the bus and kept the store), where fencing helps no one",
            )
        self.last_fence_at = now

    def outage_began(self, now: float, powered: list[str], off_since: dict[str, float]) -> None:
        """Every powered host has just lost the bus (and nothing else: store reachable, not
        hung, clean links); the caller resets `outage_since` on any other change. The outage
        binds the collectors only if it came out of a calm pool: the powered hosts healthy
        for T_dead, the others off for T_dead, and no fence for 2 T_dead."""
        t_dead = self.timers.t_dead_s
        calm = (
            bool(powered)
            and all(self.healthy_during(h, now - t_dead) for h in powered)
            and all(since <= now - t_dead for since in off_since.values())
            and self.last_fence_at < now - 2 * t_dead
        )
        self.outage_since = now if calm else None

    # Invariant 2 -------------------------------------------------------------------------------

    def satisfied(self, ob: Obligation) -> bool:
        return self.up_at.get(ob.vm, float("-inf")) > ob.killed_at

    def strict(self, ob: Obligation, endpoints: list[str], now: float) -> bool:
        if self.disturbed_at > ob.killed_at:
            return False  # a later failure (the target's, say) may legitimately delay it
        start = ob.killed_at - self.timers.t_dead_s
        if not all(self.healthy_during(e, start) for e in [*endpoints, POOL] if e != ob.host):
            return False
        need = self._vms[ob.vm].footprint
        return any(
            self.free_mib(h) >= need
            for h in self._capacity
            if h != ob.host and self.healthy_during(h, start)
        )

    def check_deadline(self, ob: Obligation, endpoints: list[str], now: float) -> None:
        if not self.satisfied(ob) and self.strict(ob, endpoints, now):
            late = now - ob.killed_at
            self.fail(
                2,
                now,
                f"protected VM {ob.vm!r} killed on {ob.host} at {ob.killed_at:.2f}s is not "
                f"running {late:.2f}s later (capacity allowed it)",
            )

    def check_final(self, now: float) -> None:
        """After every fault healed and the pool had time to settle."""
        for name, spec in self._vms.items():
            if not spec.protected or self.is_up(name):
                continue
            if any(self.free_mib(h) >= spec.footprint for h in self._capacity):
                self.fail(2, now, f"protected VM {name!r} is not running after every fault healed")
