"""The simulated world's state and plumbing: hosts, arbiter processes, the bus, the KV, the
store, VMs and the event heap. The shells (hosts.py, arbiters.py) and the fault model
(engine.py) act on it.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from schemas.liveness import SignedRecord
from schemas.messages import Beacon, JoinAccepted, NetworkHeartbeat, StartOrder
from schemas.reports import ExitCause, VMExitReport
from schemas.slot import Slot
from services.arbiter.core import Arbiter
from services.arbiter.rules import DEAD_RULES, DeadRule
from services.arbiter.testimony import Testimony, own_word
from services.arbiter.view import Decision
from services.collector.core import Collector
from services.collector.table import FENCE_TABLE, Row
from services.common.timers import Timers
from services.sim.faults import Kind, Schedule
from services.sim.hostile import Forger, own_slot, sign, with_keys
from services.sim.invariants import Checker, Obligation, Violation
from services.sim.net import PERFECT, Leases, Network
from services.sim.trace import Trace

Deliver = Callable[[Collector, float], None]


@dataclass(slots=True)
class HostSim:
    name: str
    powered: bool = True
    hung: bool = False
    collector: Collector | None = None
    boots: int = 0
    offset: float = 0.0
    tick_version: int = 0
    wd_version: int = 0
    wd_deadline: float = 0.0  # when the watchdog fires unless petted (simulation time)
    vms: dict[str, int] = field(default_factory=dict)  # vm -> instance
    orders: dict[str, str] = field(default_factory=dict)  # vm -> the order that started it
    exits: list[tuple[float, VMExitReport]] = field(default_factory=list)  # reported for T
    queue: list[Deliver] = field(default_factory=list)  # delivered while hung


@dataclass(slots=True)
class NodeSim:
    name: str
    endpoint: str
    host: str | None
    core: Arbiter
    alive: bool = True
    offset: float = 0.0
    term: int = -1
    tick_version: int = 0
    resigned_until: float = float("-inf")


@dataclass(frozen=True, slots=True)
class Outcome:
    schedule: Schedule
    violations: tuple[Violation, ...]
    trace: tuple[str, ...]
    milestones: tuple[tuple[float, str, str], ...]
    settled_at: float | None
    events: int

    @property
    def ok(self) -> bool:
        return not self.violations


class World:
    def __init__(
        self,
        schedule: Schedule,
        *,
        table: Mapping[tuple[bool, bool], Row] = FENCE_TABLE,
        rules: tuple[DeadRule, ...] = DEAD_RULES,
        timers: Timers | None = None,
        trace: bool = True,
        testimony: Testimony = own_word,
        collector: type[Collector] = Collector,
    ) -> None:
        self.s = schedule
        self.testimony = testimony
        self.keyed_pool = with_keys(schedule.pool)  # what the arbiters load: hosts' keys too
        self.collector_cls = collector
        self.t = timers or Timers.from_timeout(schedule.timeout_s)
        self.table, self.rules = table, rules
        self.rng = random.Random(schedule.seed * 7919 + 17)
        self.now = 0.0
        self._heap: list[tuple[float, int, Callable[..., None], tuple[Any, ...]]] = []
        self._seq = itertools.count()
        self.trace = Trace(enabled=trace)
        self.milestones: list[tuple[float, str, str]] = []
        i = self.t.interval_s
        self.reboot_s = schedule.reboot_s or 2 * i
        self.boot_s = schedule.boot_s or i
        budget = self.t.t_dead_s + self.boot_s + 6 * i
        self.checker = Checker(schedule.pool, self.t, budget)
        self.net = Network(self.rng)
        self.kv = Leases()
        self.store_up: dict[str, bool] = {}
        self.store_read_only: set[str] = set()  # hosts whose store writes fail (reads work)
        self.store_busy_until: dict[str, float] = {}  # a call stuck past its deadline ends then
        self.slots: dict[str, Slot] = {}
        self.records: dict[str, SignedRecord] = {}  # the slots signed (services.sim.hostile)
        self.forger = Forger()
        self.hostile: set[str] = set()  # hosts that publish forged readings now
        self.join_forgers: set[str] = set()  # hosts that publish others' join requests now
        self.liars: dict[Kind, set[str]] = {}  # STALE_LIAR and LEASE_LIAR hosts now
        # What the leaders counted as forgeries, by reason (the shell's metric, in a real one).
        self.forgeries: Counter[str] = Counter()
        self.log: list[Decision] = []
        self.hosts = {h.name: HostSim(h.name) for h in schedule.pool.hosts}
        self.host_names = tuple(self.hosts)
        self.nodes: dict[str, NodeSim] = {}
        for name in schedule.arbiters.on_hosts:
            self.nodes[f"arbiter@{name}"] = NodeSim(
                f"arbiter@{name}", name, name, self._arbiter(f"arbiter@{name}")
            )
        for name in schedule.arbiters.witnesses:
            self.nodes[name] = NodeSim(name, name, None, self._arbiter(name))
        self.endpoints = [*self.host_names, *schedule.arbiters.witnesses]
        self._instances = itertools.count(1)
        self._fenced_incarnations: set[str] = set()
        self.settled_at: float | None = None
        self._stop = False
        self.events = 0

    def _arbiter(self, name: str) -> Arbiter:
        return Arbiter(
            name, self.keyed_pool, self.t, self.rules, self.testimony,
            reads_store=True, own_slot=own_slot, record_of=sign,
        )  # fmt: skip

    # Scheduling --------------------------------------------------------------------------------

    def at(self, delay: float, action: Callable[..., None], *args: Any) -> None:
        heapq.heappush(self._heap, (self.now + delay, next(self._seq), action, args))

    def _incarnation(self, h: HostSim) -> str:
        return f"{h.name}#{h.boots}"

    def _trace(self, what: str) -> None:
        self.trace.add(self.now, what)

    def _latent(self, kind: Kind, host: str) -> float | None:
        """The amount of a fault of `kind` on `host` that holds now, or None."""
        for f in self.s.faults:
            if f.kind is kind and host in f.targets and f.active(self.now, self.s.heal_at):
                return f.amount
        return None

    # Messages ----------------------------------------------------------------------------------

    def _send(self, src: str, dst: str, action: Callable[..., None], *args: Any) -> None:
        # The hottest path of a run: Network.can_talk and delays, inlined for the common case.
        net = self.net
        side = net.side.get(src)
        if side is None or side != net.side.get(dst):
            return
        quality = net.quality
        if quality.get(src, PERFECT) is PERFECT and quality.get(dst, PERFECT) is PERFECT:
            action(src, dst, *args)
            return
        for d in net.delays(src, dst):
            if d == 0.0:
                action(src, dst, *args)
            else:
                self.at(d, self._arrive, src, dst, action, args)

    def _arrive(
        self, src: str, dst: str, action: Callable[..., None], args: tuple[Any, ...]
    ) -> None:
        if self.net.can_talk(src, dst):
            action(src, dst, *args)

    def _to_host(self, src: str, dst: str, deliver: Deliver) -> None:
        h = self.hosts[dst]
        if h.collector is None:
            return
        if h.hung:
            h.queue.append(deliver)
        else:
            deliver(h.collector, self.now + h.offset)

    def _leader(self) -> NodeSim | None:
        leader = self.kv.leader
        node = self.nodes.get(leader) if leader else None
        if node is None or not node.alive or not node.core.is_leader:
            return None
        return node

    def _to_leader(self, src: str, method: str, msg: Any) -> None:
        node = self._leader()
        if node is not None:
            self._send(src, node.endpoint, self._at_node, node.name, node.term, method, msg)

    def _at_node(self, src: str, dst: str, name: str, term: int, method: str, msg: Any) -> None:
        node = self.nodes[name]
        if node.alive and node.core.is_leader and node.term == term:
            getattr(node.core, method)(msg, self.now + node.offset)

    # VMs ---------------------------------------------------------------------------------------

    def _start_vm(self, h: HostSim, vm: str, order_id: str | None = None) -> None:
        self.checker.vm_started(vm, h.name, self.now)
        inst = next(self._instances)
        h.vms[vm] = inst
        if order_id is not None:
            h.orders[vm] = order_id
        self._trace(f"{h.name} starts {vm}")
        self.at(self.boot_s, self._vm_up, h.name, vm, inst)

    def _vm_up(self, host: str, vm: str, inst: int) -> None:
        if self.hosts[host].vms.get(vm) != inst:
            return
        self.checker.vm_up(vm, host, self.now)
        self.milestones.append((self.now, "up", vm))
        if self._latent(Kind.STORAGE_LOST, host) is not None:
            # It runs (and is reported running) until its first writes fail.
            self.at(self.t.timeout_s / 2, self._storage_fails, host, vm, inst)

    def _storage_fails(self, host: str, vm: str, inst: int) -> None:
        h = self.hosts[host]
        if h.vms.get(vm) != inst or h.collector is None or h.hung or not h.powered:
            return
        self._trace(f"{host}: {vm} lost its storage")
        self._exit(h, h.collector, vm, "storage-lost")
        self._kill_vms(h, [vm])

    def _crash_vms(self, targets: tuple[str, ...], cause: ExitCause = "killed") -> None:
        """The VMs of the healthy hosts among `targets` stop (`cause`); their collectors see
        the exits and report them (hosts.py) while the hosts stay members."""
        for host in targets:
            h = self.hosts[host]
            c = h.collector
            if c is None or h.hung or not h.powered:
                continue
            self._trace(f"{host}: {sorted(h.vms) or 'no VM'} stop ({cause})")
            for vm in sorted(h.vms):
                self._exit(h, c, vm, cause)
            self._kill_vms(h)

    def _exit(self, h: HostSim, c: Collector, vm: str, cause: ExitCause) -> None:
        """The collector sees `vm`'s instance stop with `cause` and reports it."""
        instance = h.orders.get(vm, f"boot-{h.vms[vm]}")
        h.exits.append((self.now, VMExitReport(vm=vm, instance=instance, cause=cause)))
        c.vm_stopped(vm)

    def _kill_vms(self, h: HostSim, vms: list[str] | None = None) -> None:
        for vm in sorted(h.vms) if vms is None else vms:
            ob = self.checker.vm_killed(vm, h.name, self.now)
            if ob is not None:
                self.at(self.checker.budget_s, self._obligation, ob)
            del h.vms[vm]
            h.orders.pop(vm, None)

    def _obligation(self, ob: Obligation) -> None:
        if self.checker.satisfied(ob):
            return
        leader = self._leader()
        if leader is None:
            self.at(self.t.interval_s, self._obligation, ob)  # no leader: the clock pauses
            return
        due = max(ob.killed_at, self.kv.leader_since) + self.checker.budget_s
        if self.now < due - 1e-9:
            self.at(due - self.now, self._obligation, ob)
            return
        self.checker.check_deadline(ob, self.endpoints, self.now)


def heard_by(hb: NetworkHeartbeat) -> Deliver:
    return lambda c, now: c.heard(now, hb)


def ordered_to(order: StartOrder) -> Deliver:
    return lambda c, now: c.order(order)


def accepted_by(msg: JoinAccepted) -> Deliver:
    return lambda c, now: c.join_accepted(msg)


def beacon_to(b: Beacon) -> Deliver:
    return lambda c, now: c.beacon(b)
