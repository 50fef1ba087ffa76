"""Hand-built logs for audit tests: a builder that numbers entries and keeps time moving,
the article's failover told as events, and a way to tamper with one decision of a copy."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

from schemas.events import (
    EventBase,
    HostDeclaredDead,
    HostFenced,
    HostJoined,
    HostSuspected,
    PlanComputed,
    PoolCreated,
    VMRestartOrdered,
    VMStarted,
)
from schemas.liveness import DeadEvidence, FencedMark, SlotStale, SuspectEvidence
from schemas.pool import VM, HAConfig, Host, Pool
from services.audit import Entry
from services.common.timers import Timers
from tests.fixtures.events import T0, join_record, lab_pool, make, slot_mark

E = TypeVar("E", bound=EventBase)

LAB_TIMERS = Timers.from_timeout(30.0)


class LogBuilder:
    """Entries numbered from 1, each a second after the one before, epoch `epoch`."""

    def __init__(self, epoch: int = 3) -> None:
        self.entries: list[Entry] = []
        self.epoch = epoch

    @property
    def seq(self) -> int:
        return len(self.entries)

    def add(self, cls: type[E], *, epoch: int | None = None, **fields: Any) -> E:
        at: datetime = T0 + timedelta(seconds=len(self.entries))
        event = make(cls, epoch=self.epoch if epoch is None else epoch, at=at, **fields)
        self.entries.append(Entry(self.seq + 1, event))  # type: ignore[arg-type]
        return event


def tampered(entries: list[Entry], seq: int, **changes: Any) -> list[Entry]:
    """A copy of the log whose event `seq` has `changes` (validated like a stored event)."""
    out = list(entries)
    old = out[seq - 1].event
    data = {**old.model_dump(), **changes}
    out[seq - 1] = Entry(seq, type(old).model_validate(data))
    return out


def suspect_evidence(incarnation: str = "boot-1", silent: float = 31.0) -> SuspectEvidence:
    return SuspectEvidence(
        incarnation=incarnation, lease_silent_for_s=silent, timeout_s=LAB_TIMERS.timeout_s
    )


def timeout_evidence(incarnation: str = "boot-1", silent: float | None = None) -> DeadEvidence:
    """lab1 lost its power: lease and slot silent for T_dead, seen by lab2."""
    t_dead = LAB_TIMERS.t_dead_s
    silent = t_dead + 1 if silent is None else silent
    return DeadEvidence(
        rule="timeout",
        incarnation=incarnation,
        t_dead_s=t_dead,
        leader_for_s=600.0,
        lease_silent_for_s=silent,
        slot_stale=SlotStale(observer="lab2", slot_seq=812, stale_for_s=silent),
    )


def fenced_evidence(incarnation: str = "boot-1", mark: FencedMark | None = None) -> DeadEvidence:
    """lab1 lost its link and fenced itself; its mark (by default its own signed fenced slot)
    read from its slot by lab2."""
    return DeadEvidence(
        rule="fenced",
        incarnation=incarnation,
        t_dead_s=LAB_TIMERS.t_dead_s,
        leader_for_s=600.0,
        lease_silent_for_s=3.0,
        fenced_mark=mark or slot_mark(incarnation=incarnation),
    )


def failover_log(*, fenced: bool = False) -> LogBuilder:
    """The article's experiment in the lab pool: lab1 fails (power, or fences itself when
    `fenced`), Minion 1 restarts on lab2. Sequences:

    1 pool created, 2-3 lab1/lab2 join, 4 plan (tolerates 1 of 2 hosts: exact, no worst set),
    5 lab1 suspected, 6 lab1 fenced (only when `fenced`), then lab1 declared dead, the order
    to lab2 and the start, and a new plan on the pool after the restart: lab2 alone, so it
    tolerates 0 failures (a dead host is no survivor), below the configured 1.
    """
    log = LogBuilder()
    log.add(PoolCreated, epoch=0, pool=lab_pool())
    log.add(HostJoined, host="lab1", incarnation="boot-1", record=join_record("lab1", "boot-1"))
    log.add(HostJoined, host="lab2", incarnation="boot-7", record=join_record("lab2", "boot-7"))
    plan = log.add(PlanComputed, based_on_seq=3, max_host_failures_to_tolerate=1, upper_bound=1,
                   exact=True, worst_failure_set=None, host_failures_to_tolerate=1)  # fmt: skip
    log.add(HostSuspected, host="lab1", evidence=suspect_evidence())
    if fenced:
        mark = slot_mark()
        log.add(HostFenced, host="lab1", mark=mark)
        log.add(HostDeclaredDead, host="lab1", evidence=fenced_evidence())
    else:
        log.add(HostDeclaredDead, host="lab1", evidence=timeout_evidence())
    log.add(VMRestartOrdered, vm="Minion 1", host="lab2", incarnation="boot-7",
            plan=plan.event_id)  # fmt: skip
    log.add(VMStarted, vm="Minion 1", host="lab2", incarnation="boot-7", instance="i-1")
    log.add(PlanComputed, based_on_seq=log.seq, max_host_failures_to_tolerate=0, upper_bound=0,
            exact=True, worst_failure_set=None, host_failures_to_tolerate=1)  # fmt: skip
    return log


def tight_pool() -> Pool:
    """Two hosts of 16 GiB, each running a protected 10 GiB VM: neither survives the other's
    failure (6 GiB left), so the pool tolerates 0 failures against a configured 1."""
    return Pool(
        name="Tight",
        ha=HAConfig(host_failures_to_tolerate=1),
        hosts=(Host(name="h1", memory_mib=16384), Host(name="h2", memory_mib=16384)),
        vms=(
            VM(name="a", memory_mib=10240, host="h1", ha_restart_priority="restart"),
            VM(name="b", memory_mib=10240, host="h2", ha_restart_priority="restart"),
        ),
    )


def rack_failover_log() -> LogBuilder:
    """The rich pool (tests/fixtures/events.py) loses h1; its protected VMs restart in
    restart order: db.primary (order 0) on h2.rack7, then Web 1 (order 1, anti-affinity
    group web) on "h 3", because h2.rack7 already runs Web 2 of the same group.

    1 pool created, 2-4 h1, h2.rack7, "h 3" join, 5 h1 declared dead (timeout, T = 5 s),
    6 order db.primary, 7 order Web 1, 8-9 both started.
    """
    from tests.fixtures.events import rich_pool

    timers = Timers.from_timeout(5.0)
    log = LogBuilder()
    log.add(PoolCreated, epoch=0, pool=rich_pool())
    for host in ("h1", "h2.rack7", "h 3"):
        log.add(HostJoined, host=host, incarnation=f"boot-{host}")
    silent = timers.t_dead_s + 0.5
    evidence = DeadEvidence(
        rule="timeout", incarnation="boot-h1", t_dead_s=timers.t_dead_s, leader_for_s=300.0,
        lease_silent_for_s=silent,
        slot_stale=SlotStale(observer="h 3", slot_seq=77, stale_for_s=silent),
    )  # fmt: skip
    log.add(HostDeclaredDead, host="h1", evidence=evidence)
    log.add(VMRestartOrdered, vm="db.primary", host="h2.rack7", incarnation="boot-h2.rack7",
            plan="restart-1")  # fmt: skip
    log.add(VMRestartOrdered, vm="Web 1", host="h 3", incarnation="boot-h 3", plan="restart-1")
    log.add(VMStarted, vm="db.primary", host="h2.rack7", incarnation="boot-h2.rack7",
            instance="i-db")  # fmt: skip
    log.add(VMStarted, vm="Web 1", host="h 3", incarnation="boot-h 3", instance="i-web")
    return log


def every_decision_log() -> LogBuilder:
    """One decision of every kind verify re-checks, all of them right, in the tight pool
    (T = 30 s, so T_dead = 42 s):

     1 pool created           2-3 h1 (boot-1), h2 (boot-2) join
     4 plan A: tolerates 0 (exact), worst failure set {h1}, ntol 1
     5 pool overcommitted (plan A)          6 h1 suspected     7 h1 rejoined
     8 ntol set to 0
     9 plan B: tolerates 0 (exact), worst {h1}, ntol 0          10 plan restored (plan B)
    11 h1 suspected   12 h1 fenced   13 h1 declared dead (rule fenced)
    14 a unplaceable (10 GiB, h2 has 6 GiB free)   15 admin shuts b down
    16 a ordered to h2 (boot-2)        17 a started on h2
    """
    from schemas.events import (
        HostRejoined,
        NtolSet,
        PlanRestored,
        PoolOvercommitted,
        VMShutDownByAdmin,
        VMUnplaceable,
    )

    log = LogBuilder()
    log.add(PoolCreated, epoch=0, pool=tight_pool())
    log.add(HostJoined, host="h1", incarnation="boot-1")
    log.add(HostJoined, host="h2", incarnation="boot-2")
    plan_a = log.add(PlanComputed, based_on_seq=3, max_host_failures_to_tolerate=0,
                     upper_bound=0, exact=True, worst_failure_set=("h1",),
                     host_failures_to_tolerate=1)  # fmt: skip
    log.add(PoolOvercommitted, plan=plan_a.event_id, max_host_failures_to_tolerate=0,
            host_failures_to_tolerate=1)  # fmt: skip
    log.add(HostSuspected, host="h1", evidence=suspect_evidence("boot-1"))
    log.add(HostRejoined, host="h1", incarnation="boot-1")
    log.add(NtolSet, epoch=0, host_failures_to_tolerate=0)
    plan_b = log.add(PlanComputed, based_on_seq=8, max_host_failures_to_tolerate=0,
                     upper_bound=0, exact=True, worst_failure_set=("h1",),
                     host_failures_to_tolerate=0)  # fmt: skip
    log.add(PlanRestored, plan=plan_b.event_id, max_host_failures_to_tolerate=0,
            host_failures_to_tolerate=0)  # fmt: skip
    log.add(HostSuspected, host="h1", evidence=suspect_evidence("boot-1", silent=35.0))
    log.add(HostFenced, host="h1",
            mark=FencedMark(source="bus", observer=None, incarnation="boot-1"))  # fmt: skip
    bus_mark = FencedMark(source="bus", observer=None, incarnation="boot-1")
    log.add(HostDeclaredDead, host="h1", evidence=fenced_evidence("boot-1", bus_mark))
    log.add(VMUnplaceable, vm="a", reason="insufficient memory on the liveset")
    log.add(VMShutDownByAdmin, epoch=0, vm="b")
    log.add(VMRestartOrdered, vm="a", host="h2", incarnation="boot-2", plan=plan_b.event_id)
    log.add(VMStarted, vm="a", host="h2", incarnation="boot-2", instance="i-a")
    return log


def prefix(log: LogBuilder, n: int) -> LogBuilder:
    """A builder continuing after the first `n` entries of `log`."""
    out = LogBuilder(epoch=log.epoch)
    out.entries = list(log.entries[:n])
    return out
