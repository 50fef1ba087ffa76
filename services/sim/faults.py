"""Fault schedules: what goes wrong in a simulated pool, and when.

A schedule is plain data (JSON-able), so a failing one can be printed, shrunk and replayed.
Every fault holds from `start` until `end` (None: until the final heal, when every fault ends).
Overlapping faults compose: a link is down while any fault holds it down.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

from schemas.pool import Pool


class Kind(StrEnum):
    POWER = "power"  # the host is off: VMs, collector and any arbiter on it die
    BUS_LINK = "bus_link"  # the hosts lose their link to the bus (NATS)
    PARTITION = "partition"  # the hosts form an island: they hear each other, not the quorum
    QUORUM = "quorum"  # the NATS cluster loses its quorum: no lease renews anywhere
    STORE_LINK = "store_link"  # the hosts lose the shared store (all hosts: a store outage)
    HANG = "hang"  # the host's collector stops (SIGSTOP, deadlock); its watchdog does not
    DELAY = "delay"  # messages to and from these endpoints take up to `amount` seconds more
    LOSS = "loss"  # ... are lost with probability `amount`
    DUPLICATION = "duplication"  # ... are delivered twice with probability `amount`
    ARBITER_CRASH = "arbiter_crash"  # an arbiter process dies (restarts at `end`)
    LEADER_CHANGE = "leader_change"  # the leader hands over: its lease is released
    # A fence's kill of these hosts' VMs is not confirmed in time: the VMs die `amount`
    # seconds later, or (amount 0) only when the watchdog fires; the collector's retries fail
    # while the fault holds.
    STUCK_KILL = "stuck_kill"
    # The news that these hosts' leases were revoked reaches their collectors `amount` seconds
    # late, or (amount 0) never: they fall back on THE TABLE.
    LATE_REVOCATION = "late_revocation"
    # The VMs of these hosts crash at `start` (killed, as the OOM killer would kill them); the hosts
    # stay healthy, and their collectors report the exits.
    VM_CRASH = "vm_crash"
    # These hosts lose their VMs' storage from `start` to `end`: their VMs die (cause
    # storage-lost) and a VM started there dies the same way once it boots; the hosts stay
    # healthy members.
    STORAGE_LOST = "storage_lost"
    # The host publishes forged readings about the others (services.sim.hostile)
    HOSTILE = "hostile"
    # The host publishes join requests on the other hosts' join subjects, which no host's
    # credential allows (services.sim.hostile): what signed joins guard against. Scenario
    # tests only (the generators do not draw it, so their seeds stay as they were).
    JOIN_FORGER = "join_forger"
    # The host's observations say every other host's slot has been still for an hour (the
    # observer's word; services.sim.hostile), replaying an older signed record of it when
    # it kept one. Scenario tests only.
    STALE_LIAR = "stale_liar"
    # The host's own slot says its lease proof has expired while it renews its lease on the
    # bus: hosts cut from the bus then take it for a global bus outage. Scenario tests only.
    LEASE_LIAR = "lease_liar"
    # The store takes these hosts' reads but fails their writes (a read-only remount): their
    # slots freeze while they go on reading the others' (services.sim.store).
    STORE_READ_ONLY = "store_read_only"
    # Each store call of these hosts takes `amount` seconds (a stalled NFS server): a call
    # longer than an interval misses the shell's deadline, and its write lands late
    # (services.sim.store).
    STORE_DELAY = "store_delay"
    # The leader's lease watch misses these hosts' renewals (a stalled or flooded consumer):
    # the hosts renew and are healthy, only the arbiter's input broke. Scenario tests only
    # (the random and exhaustive generators do not draw it, so their seeds stay as they were).
    LEASE_WATCH = "lease_watch"
    # The leader's start orders reach these hosts' collectors `amount` seconds late, or (amount
    # 0) not while the fault holds: a loaded host slow to take and report its starts, healthy
    # otherwise. Scenario tests only, as LEASE_WATCH.
    ORDER_DELAY = "order_delay"
    # The BMCs of these hosts (their fencing chain, services.sim.bmc) fail the leader's
    # power-off orders: BMC_TIMEOUT never answers (the call's deadline passes; the management
    # network is down, say), BMC_ON answers that the host is still on, BMC_LATE powers it off
    # and answers `amount` seconds late. Scenario tests only, as LEASE_WATCH; without one a
    # BMC powers its host off and says so at once.
    BMC_TIMEOUT = "bmc_timeout"
    BMC_ON = "bmc_on"
    BMC_LATE = "bmc_late"


# Faults whose targets are hosts (the others name arbiters, or nothing: the whole pool).
HOST_KINDS = frozenset(
    {
        Kind.POWER,
        Kind.BUS_LINK,
        Kind.PARTITION,
        Kind.STORE_LINK,
        Kind.HANG,
        Kind.STUCK_KILL,
        Kind.LATE_REVOCATION,
        Kind.VM_CRASH,
        Kind.STORAGE_LOST,
        Kind.HOSTILE,
        Kind.JOIN_FORGER,
        Kind.STALE_LIAR,
        Kind.LEASE_LIAR,
        Kind.STORE_READ_ONLY,
        Kind.STORE_DELAY,
        Kind.LEASE_WATCH,
        Kind.ORDER_DELAY,
        Kind.BMC_TIMEOUT,
        Kind.BMC_ON,
        Kind.BMC_LATE,
    }
)
ALL = "*"  # target of link-quality faults that hit every endpoint


@dataclass(frozen=True, slots=True)
class Fault:
    kind: Kind
    start: float
    end: float | None = None
    targets: tuple[str, ...] = ()
    amount: float = 0.0

    def active(self, t: float, heal_at: float) -> bool:
        end = heal_at if self.end is None else min(self.end, heal_at)
        return self.start <= t < end

    def describe(self) -> str:
        until = "until healed" if self.end is None else f"until {self.end:.2f}s"
        who = ",".join(self.targets) if self.targets else "pool"
        extra = f" {self.amount:g}" if self.amount else ""
        return f"{self.kind.value}{extra} on {who} from {self.start:.2f}s {until}"


@dataclass(frozen=True, slots=True)
class Arbiters:
    """Where leader candidates run: on hosts (they die with them), plus separate witnesses.
    The first one listed becomes the first leader."""

    on_hosts: tuple[str, ...]
    witnesses: tuple[str, ...] = ()

    @property
    def nodes(self) -> tuple[str, ...]:
        return self.on_hosts + self.witnesses


@dataclass(frozen=True, slots=True)
class Schedule:
    seed: int
    pool: Pool
    arbiters: Arbiters
    faults: tuple[Fault, ...]
    heal_at: float  # every fault ends here
    end_at: float  # the run stops here (earlier once the pool has settled)
    timeout_s: float
    # Simulated durations of things the design does not time: a reboot, a VM boot.
    reboot_s: float = field(default=0.0)
    boot_s: float = field(default=0.0)
    # Hosts in maintenance (excluded from the liveset by the operator) from the start.
    maintenance: tuple[str, ...] = ()
    # The hosts' watchdog: None for the process watchdog (it fires at the core's deadline),
    # or a device watchdog's timeout D in seconds (`--watchdog linux`): each pet restarts it
    # for D, and the shell pets only while the core's deadline is D away
    # (services.common.watchdog_timing).
    device_watchdog_s: float | None = None

    def without(self, index: int) -> Schedule:
        return replace(self, faults=self.faults[:index] + self.faults[index + 1 :])

    def _fencing_json(self) -> dict[str, Any]:
        """The hosts with a fencing chain (services.sim.bmc), when there are any."""
        chained = [h.name for h in self.pool.hosts if h.fencing]
        return {"fencing": chained} if chained else {}

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "timeout_s": self.timeout_s,
            "hosts": [h.name for h in self.pool.hosts],
            "arbiters": asdict(self.arbiters),
            "heal_at": self.heal_at,
            "maintenance": list(self.maintenance),
            "reboot_s": self.reboot_s,
            "boot_s": self.boot_s,
            "device_watchdog_s": self.device_watchdog_s,
            **self._fencing_json(),
            "faults": [
                {
                    "kind": f.kind.value,
                    "start": round(f.start, 3),
                    "end": None if f.end is None else round(f.end, 3),
                    "targets": list(f.targets),
                    "amount": f.amount,
                }
                for f in self.faults
            ],
        }
