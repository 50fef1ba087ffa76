"""One simulated run: a virtual clock, hosts, a bus with its quorum, a shared store, watchdogs
and arbiters, with the pure collector and arbiter cores plugged in unchanged.

The engine plays the shells: it renews leases in the KV model, writes and reads slots, carries
messages (with the delays, losses and duplicates the faults ask for), pets the watchdogs, starts
and kills VMs, elects the leader and appends its decisions to the log. Each core sees only its
own clock: every host incarnation and every arbiter process gets a random clock offset.

Event-driven: a heap of (time, seq, action). Messages without delay are delivered at once.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from schemas.messages import Beacon, JoinAccepted, NetworkHeartbeat, StartOrder
from schemas.slot import Slot
from services.arbiter.core import Arbiter
from services.arbiter.rules import DEAD_RULES, DeadRule
from services.arbiter.view import Decision, DeclaredDead, Joined, RestartOrdered
from services.collector.core import WATCHDOG_FIRED, Collector, Phase, Tick
from services.collector.table import FENCE_TABLE, Row
from services.common.timers import Timers
from services.sim.faults import ALL, Kind, Schedule
from services.sim.invariants import POOL, Checker, Obligation, Violation
from services.sim.net import QUORUM, Leases, Network, quality
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
    vms: dict[str, int] = field(default_factory=dict)  # vm -> instance
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


class Sim:
    def __init__(
        self,
        schedule: Schedule,
        *,
        table: Mapping[tuple[bool, bool], Row] = FENCE_TABLE,
        rules: tuple[DeadRule, ...] = DEAD_RULES,
        timers: Timers | None = None,
        trace: bool = True,
    ) -> None:
        self.s = schedule
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
        self.slots: dict[str, Slot] = {}
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
        return Arbiter(name, self.s.pool, self.t, self.rules)

    # Scheduling --------------------------------------------------------------------------------

    def at(self, delay: float, action: Callable[..., None], *args: Any) -> None:
        heapq.heappush(self._heap, (self.now + delay, next(self._seq), action, args))

    def run(self) -> Outcome:
        self._setup()
        heap = self._heap
        end = self.s.end_at
        while heap and not self._stop:
            t, _, action, args = heapq.heappop(heap)
            if t > end:
                break
            self.now = t
            action(*args)
            self.events += 1
            if self.checker.violations:
                break
        if not self.checker.violations:
            self.now = min(self.now, end) if self._stop else end
            self.checker.check_final(self.now)
        return Outcome(
            self.s,
            tuple(self.checker.violations),
            tuple(self.trace.render()),
            tuple(self.milestones),
            self.settled_at,
            self.events,
        )

    def _setup(self) -> None:
        i = self.t.interval_s
        for ep in self.endpoints:
            self.net.side[ep] = QUORUM
        for h in self.hosts.values():
            self.store_up[h.name] = True
            h.boots = 1
            h.offset = self.rng.uniform(0, 1000)
            vms = [v.name for v in self.s.pool.vms if v.host == h.name]
            c = Collector.resumed(
                h.name, self._incarnation(h), self.host_names, self.t, h.offset, vms, self.table
            )
            h.collector = c
            for vm in vms:
                h.vms[vm] = next(self._instances)
                self.checker.vm_started(vm, h.name, 0.0)
                self.checker.vm_up(vm, h.name, 0.0)
            self.slots[h.name] = c.slot(h.offset)
            self.log.append(Joined(h.name, c.incarnation))
            self.at(self.rng.uniform(0.1 * i, i), self._collector_tick, h.name, h.tick_version)
        for n, node in enumerate(self.nodes.values()):
            node.offset = self.rng.uniform(0, 1000)
            self.at(0.01 * i * (n + 1), self._node_tick, node.name, node.tick_version)
        for f in self.s.faults:
            self.at(f.start, self._faults_changed)
            if f.kind is Kind.LEADER_CHANGE:
                self.at(f.start, self._leader_change)
            if f.end is not None and f.end < self.s.heal_at:
                self.at(f.end, self._faults_changed)
        self.at(self.s.heal_at, self._faults_changed)
        self.at(self.s.heal_at, self._trace, "every fault healed")
        self.at(self.s.heal_at + self.t.t_dead_s, self._maybe_settled)

    def _incarnation(self, h: HostSim) -> str:
        return f"{h.name}#{h.boots}"

    def _trace(self, what: str) -> None:
        self.trace.add(self.now, what)

    # Messages ----------------------------------------------------------------------------------

    def _send(self, src: str, dst: str, action: Callable[..., None], *args: Any) -> None:
        if not self.net.can_talk(src, dst):
            return
        for d in self.net.delays(src, dst):
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
        node = self.nodes.get(self.kv.leader) if self.kv.leader else None
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

    # Leases ------------------------------------------------------------------------------------

    def _renew(self, h: HostSim, incarnation: str, sent_at: float) -> None:
        if not self.net.reaches_quorum(h.name):
            return
        delays = self.net.delays(h.name, h.name)
        if delays:
            self._apply_renewal(h.name, incarnation, sent_at, delays[0])

    def _apply_renewal(self, host: str, incarnation: str, sent_at: float, delay: float) -> None:
        if delay:
            self.at(delay, self._apply_renewal, host, incarnation, sent_at, 0.0)
            return
        if not self.net.quorum_ok or not self.kv.renew(host, incarnation):
            return
        leader = self._leader()
        if leader is not None and self.net.reaches_quorum(leader.endpoint):
            leader.core.lease_renewed(host, incarnation, self.now + leader.offset)
        delays = self.net.delays(host, host)
        if delays:
            self.at(delays[0], self._ack_renewal, host, incarnation, sent_at)

    def _ack_renewal(self, host: str, incarnation: str, sent_at: float) -> None:
        h = self.hosts[host]
        c = h.collector
        if c is None or c.incarnation != incarnation or not self.net.reaches_quorum(host):
            return
        self._to_host(host, host, lambda col, now: col.lease_renewed(sent_at))

    # The collector shell -----------------------------------------------------------------------

    def _collector_tick(self, host: str, version: int) -> None:
        h = self.hosts[host]
        c = h.collector
        if version != h.tick_version or c is None or h.hung:
            return
        now = self.now + h.offset
        if c.phase is not Phase.FENCED:
            self._renew(h, c.incarnation, now)
        slot = c.slot(now)
        store_ok = self.store_up[host]
        if store_ok:
            self.slots[host] = slot
        c.slot_written(now, store_ok)
        c.slots_read(now, list(self.slots.values()) if store_ok else None)
        out = c.tick(now)
        if out.fence:
            self._fence(h, c, out)
            return
        if out.pet_until is not None:
            self._pet(h, out.pet_until - h.offset)
        for order in out.starts:
            self._start_vm(h, order.vm)
        self._publish(h, c, out)
        self.at(self.t.interval_s, self._collector_tick, host, version)

    def _publish(self, h: HostSim, c: Collector, out: Tick) -> None:
        hb = out.heartbeat
        for peer in self.host_names:
            if peer != h.name and self.hosts[peer].collector is not None:
                self._send(h.name, peer, self._to_host, _heard(hb))
        self._to_leader(h.name, "heartbeat", hb)
        self._to_leader(h.name, "store_observation", out.observation)
        if out.join is not None:
            self._to_leader(h.name, "join_request", out.join)

    def _fence(self, h: HostSim, c: Collector, out: Tick) -> None:
        if c.incarnation not in self._fenced_incarnations and out.reason != WATCHDOG_FIRED:
            self._fenced_incarnations.add(c.incarnation)
            self.checker.fenced(h.name, self.now, "fenced")
        self._kill_vms(h)
        self._trace(f"{h.name} ({c.incarnation}) fences: {out.reason}")
        self.milestones.append((self.now, "fence", h.name))
        if self.store_up[h.name] and out.fenced_slot is not None:
            self.slots[h.name] = out.fenced_slot
        if out.fenced_notice is not None:
            self._to_leader(h.name, "fenced_notice", out.fenced_notice)
        self._shutdown(h)
        self.at(self.reboot_s, self._boot, h.name, h.tick_version)

    def _shutdown(self, h: HostSim) -> None:
        h.collector = None
        h.tick_version += 1
        h.wd_version += 1
        h.queue.clear()

    def _boot(self, host: str, version: int) -> None:
        h = self.hosts[host]
        if not h.powered or version != h.tick_version or h.collector is not None:
            return
        h.boots += 1
        h.offset = self.rng.uniform(0, 1000)
        c = Collector(
            host, self._incarnation(h), self.host_names, self.t, self.now + h.offset, self.table
        )
        h.collector = c
        self._trace(f"{host} boots as {c.incarnation}")
        self.at(self.rng.uniform(0, self.t.interval_s), self._collector_tick, host, h.tick_version)

    def _resume(self, h: HostSim) -> None:
        c = h.collector
        queued, h.queue = h.queue, []
        if c is None:
            return
        now = self.now + h.offset
        for deliver in queued:
            deliver(c, now)
        self._collector_tick(h.name, h.tick_version)

    # Watchdog and VMs --------------------------------------------------------------------------

    def _pet(self, h: HostSim, deadline: float) -> None:
        h.wd_version += 1
        self.at(max(0.0, deadline - self.now), self._watchdog, h.name, h.wd_version)

    def _watchdog(self, host: str, version: int) -> None:
        h = self.hosts[host]
        c = h.collector
        if version != h.wd_version or c is None:
            return
        if c.incarnation not in self._fenced_incarnations:
            self._fenced_incarnations.add(c.incarnation)
            self.checker.fenced(host, self.now, "was fenced by its watchdog")
        self._trace(f"{host} ({c.incarnation}) watchdog fires, killing {sorted(h.vms) or 'no VM'}")
        self.milestones.append((self.now, "watchdog", host))
        self._kill_vms(h)
        c.watchdog_fired()

    def _start_vm(self, h: HostSim, vm: str) -> None:
        self.checker.vm_started(vm, h.name, self.now)
        inst = next(self._instances)
        h.vms[vm] = inst
        self._trace(f"{h.name} starts {vm}")
        self.at(self.boot_s, self._vm_up, h.name, vm, inst)

    def _vm_up(self, host: str, vm: str, inst: int) -> None:
        if self.hosts[host].vms.get(vm) == inst:
            self.checker.vm_up(vm, host, self.now)
            self.milestones.append((self.now, "up", vm))

    def _kill_vms(self, h: HostSim) -> None:
        for vm in sorted(h.vms):
            ob = self.checker.vm_killed(vm, h.name, self.now)
            if ob is not None:
                self.at(self.checker.budget_s, self._obligation, ob)
        h.vms.clear()

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

    # The arbiter shell -------------------------------------------------------------------------

    def _node_tick(self, name: str, version: int) -> None:
        node = self.nodes[name]
        if not node.alive or version != node.tick_version:
            return
        self._lead_or_follow(node)
        if node.core.is_leader:
            now = self.now + node.offset
            out = node.core.tick(now)
            for d in out.decisions:
                self._append(node, d)
            for order in out.orders:
                self._send(node.endpoint, order.host, self._to_host, _order(order))
            for acc in out.accepted:
                self._send(node.endpoint, acc.host, self._to_host, _accepted(acc))
            if out.beacon is not None:
                for host in self.host_names:
                    self._send(node.endpoint, host, self._to_host, _beacon(out.beacon))
        self.at(self.t.interval_s, self._node_tick, name, version)

    def _lead_or_follow(self, node: NodeSim) -> None:
        kv = self.kv
        if not self.net.reaches_quorum(node.endpoint):
            if node.core.is_leader:
                node.core.lose_leadership()
                self._trace(f"{node.name} cannot renew the leader lease: steps down")
            return
        if kv.leader == node.name and node.core.is_leader:
            kv.leader_until = self.now + self.t.leader_lease_s
            return
        if node.core.is_leader:
            node.core.lose_leadership()
        free = kv.leader is None or kv.leader_until <= self.now or kv.leader == node.name
        if free and self.now >= node.resigned_until:
            kv.term += 1
            kv.leader, kv.leader_until, kv.leader_since = (
                node.name,
                self.now + self.t.leader_lease_s,
                self.now,
            )
            node.term = kv.term
            node.core.gain_leadership(self.now + node.offset, kv.term, list(self.log))
            self._trace(f"{node.name} leads (term {kv.term})")

    def _append(self, node: NodeSim, d: Decision) -> None:
        self.log.append(d)
        if isinstance(d, DeclaredDead):
            inc = d.evidence.incarnation
            self.kv.revoked.add((d.host, inc))
            self.milestones.append((self.now, "dead", d.host))
            running = self.hosts[d.host].vms
            alive = self.hosts[d.host].collector
            warn = ""
            if running and alive is not None and alive.incarnation == inc:
                warn = f" WHILE IT STILL RUNS {sorted(running)}"
            self._trace(
                f"{node.name}: {d.host} ({inc}) declared dead, rule {d.evidence.rule}{warn}"
            )
        elif isinstance(d, RestartOrdered):
            self.milestones.append((self.now, "ordered", d.vm))
            self._trace(f"{node.name}: restart {d.vm} on {d.host} ({d.incarnation})")
        else:
            self._trace(f"{node.name}: {_describe(d)}")

    def _leader_change(self) -> None:
        node = self._leader()
        if node is None:
            return
        node.core.lose_leadership()
        node.resigned_until = self.now + 2 * self.t.interval_s
        self.kv.leader = None
        self._trace(f"{node.name} hands over the leadership")

    # Faults ------------------------------------------------------------------------------------

    def _faults_changed(self) -> None:
        now, heal = self.now, self.s.heal_at
        active = [f for f in self.s.faults if f.active(now, heal)]

        def hit(kind: Kind, who: str) -> bool:
            return any(f.kind is kind and (who in f.targets or ALL in f.targets) for f in active)

        self.net.quorum_ok = not any(f.kind is Kind.QUORUM for f in active)
        for ep in self.endpoints:
            side: str | None = QUORUM
            for n, f in enumerate(active):
                if f.kind is Kind.PARTITION and ep in f.targets:
                    side = f"island-{n}"
            if hit(Kind.BUS_LINK, ep):
                side = None
            if side != self.net.side.get(ep):
                self._trace(f"{ep} bus: {side or 'link down'}")
            self.net.side[ep] = side
            self.net.quality[ep] = quality(
                delay_s=max(
                    (f.amount for f in active if f.kind is Kind.DELAY and _targets(f, ep)),
                    default=0.0,
                ),
                loss=max(
                    (f.amount for f in active if f.kind is Kind.LOSS and _targets(f, ep)),
                    default=0.0,
                ),
                duplication=max(
                    (f.amount for f in active if f.kind is Kind.DUPLICATION and _targets(f, ep)),
                    default=0.0,
                ),
            )
        for h in self.hosts.values():
            self._host_faults(
                h,
                powered=not hit(Kind.POWER, h.name),
                hung=hit(Kind.HANG, h.name),
                store=not hit(Kind.STORE_LINK, h.name),
            )
        for node in self.nodes.values():
            host_on = node.host is None or self.hosts[node.host].powered
            self._node_faults(node, alive=host_on and not hit(Kind.ARBITER_CRASH, node.name))
        self.checker.set_health(POOL, self.net.quorum_ok, now)
        for ep in self.endpoints:
            q = self.net.quality[ep]
            healthy = self.net.side[ep] == QUORUM and q.loss == 0.0
            host = self.hosts.get(ep)
            if host is not None:
                healthy = healthy and host.powered and not host.hung and self.store_up[ep]
            self.checker.set_health(ep, healthy, now)

    def _host_faults(self, h: HostSim, *, powered: bool, hung: bool, store: bool) -> None:
        if store != self.store_up[h.name]:
            self._trace(f"{h.name} store: {'reachable' if store else 'unreachable'}")
        self.store_up[h.name] = store
        if h.powered and not powered:
            self._trace(f"{h.name} power off, killing {sorted(h.vms) or 'no VM'}")
            self.milestones.append((self.now, "power_off", h.name))
            h.powered = False
            self._kill_vms(h)
            self._shutdown(h)
        elif powered and not h.powered:
            self._trace(f"{h.name} power on")
            h.powered = True
            self.at(self.reboot_s, self._boot, h.name, h.tick_version)
        if hung != h.hung:
            self._trace(f"{h.name} collector {'hangs' if hung else 'resumes'}")
            h.hung = hung
            if not hung:
                self._resume(h)

    def _node_faults(self, node: NodeSim, *, alive: bool) -> None:
        if node.alive and not alive:
            self._trace(f"{node.name} crashes")
            node.alive = False
            node.core = self._arbiter(node.name)
            node.tick_version += 1
        elif alive and not node.alive:
            node.alive = True
            node.offset = self.rng.uniform(0, 1000)
            self._trace(f"{node.name} restarts as a standby")
            self.at(
                self.rng.uniform(0, self.t.interval_s),
                self._node_tick,
                node.name,
                node.tick_version,
            )

    def _maybe_settled(self) -> None:
        if self._settled():
            self.settled_at = self.now
            self._trace("the pool has settled")
            self._stop = True
            return
        self.at(self.t.interval_s, self._maybe_settled)

    def _settled(self) -> bool:
        if self._leader() is None:
            return False
        for h in self.hosts.values():
            if h.collector is None or h.collector.phase is not Phase.MEMBER:
                return False
        view = self._leader()
        assert view is not None
        return all(
            self.checker.is_up(v.name) or not v.protected for v in self.s.pool.vms
        ) and not any(v.state in ("ordered", "restarting") for v in view.core.view.vms.values())


def _targets(f: Any, ep: str) -> bool:
    return ep in f.targets or ALL in f.targets


def _heard(hb: NetworkHeartbeat) -> Deliver:
    return lambda c, now: c.heard(now, hb)


def _order(order: StartOrder) -> Deliver:
    return lambda c, now: c.order(order)


def _accepted(msg: JoinAccepted) -> Deliver:
    return lambda c, now: c.join_accepted(msg)


def _beacon(b: Beacon) -> Deliver:
    return lambda c, now: c.beacon(b)


def _describe(d: Decision) -> str:
    name = type(d).__name__
    fields = ", ".join(f"{k}={getattr(d, k)}" for k in d.__dataclass_fields__ if k != "evidence")
    return f"{name}({fields})"


def run(schedule: Schedule, **kwargs: Any) -> Outcome:
    return Sim(schedule, **kwargs).run()
