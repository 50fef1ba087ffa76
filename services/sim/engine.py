"""One simulated run: a virtual clock, hosts, a bus with its quorum, a shared store, watchdogs
and arbiters, with the pure collector and arbiter cores plugged in unchanged.

The shells (hosts.py, arbiters.py) renew leases in the KV model, write and read slots, carry
messages (with the delays, losses and duplicates the faults ask for), pet the watchdogs, start
and kill VMs, elect the leader and append its decisions to the log; this module runs the event
loop, sets the pool up and applies the fault schedule. Each core sees only its own clock:
every host incarnation and every arbiter process gets a random clock offset.

Event-driven: a heap of (time, seq, action). Messages without delay are delivered at once.
"""

from __future__ import annotations

import heapq
from typing import Any

from services.arbiter.decisions import Configured, PoolConfig
from services.arbiter.view import Joined
from services.collector.core import Phase
from services.sim.arbiters import ArbiterShells
from services.sim.faults import ALL, Kind, Schedule
from services.sim.hostile import sign
from services.sim.hosts import HostShells
from services.sim.invariants import POOL
from services.sim.net import QUORUM, Quality, quality
from services.sim.world import HostSim, NodeSim, Outcome


class Sim(HostShells, ArbiterShells):
    """`Sim(schedule).run()`; `table`, `rules` and `timers` swap in broken ones for tests."""

    off_since: dict[str, float]  # powered-off hosts: since when
    _outage_state: tuple[object, ...] | None

    def run(self) -> Outcome:
        self.off_since, self._outage_state = {}, None
        self.bmc_off = set()
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
        # The events left hold bound methods of this world: a cycle that only the garbage
        # collector would break. Dropped, the world goes as soon as its last user lets it go.
        heap.clear()
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
            c = self.collector_cls.resumed(
                h.name, self._incarnation(h), self.host_names, self.t, h.offset, vms, self.table
            )
            h.collector = c
            for vm in vms:
                h.vms[vm] = next(self._instances)
                self.checker.vm_started(vm, h.name, 0.0)
                self.checker.vm_up(vm, h.name, 0.0)
            self.slots[h.name] = c.slot(h.offset)
            self._arm_device(h)
            # The join as if recorded earlier: with its signed slot, as a real one carries.
            self.log.append(Joined(h.name, c.incarnation, sign(self.slots[h.name])))
            self.at(self.rng.uniform(0.1 * i, i), self._collector_tick, h.name, h.tick_version)
        if self.s.maintenance:
            pool = self.keyed_pool  # the hosts' keys too: else the fold forgets them
            config = PoolConfig(pool.hosts, frozenset(self.s.maintenance), pool.vms, True)
            self.log.append(Configured(config))
        for n, node in enumerate(self.nodes.values()):
            node.offset = self.rng.uniform(0, 1000)
            self.at(0.01 * i * (n + 1), self._node_tick, node.name, node.tick_version)
        for f in self.s.faults:
            self.at(f.start, self._faults_changed)
            if f.kind is Kind.LEADER_CHANGE:
                self.at(f.start, self._leader_change)
            if f.kind is Kind.VM_CRASH:
                self.at(f.start, self._crash_vms, f.targets)
            if f.kind is Kind.STORAGE_LOST:
                self.at(f.start, self._crash_vms, f.targets, "storage-lost")
            if f.end is not None and f.end < self.s.heal_at:
                self.at(f.end, self._faults_changed)
        self.at(self.s.heal_at, self._faults_changed)
        self.at(self.s.heal_at, self._trace, "every fault healed")
        self.at(self.s.heal_at + self.t.t_dead_s, self._maybe_settled)

    # Faults ------------------------------------------------------------------------------------

    def _faults_changed(self) -> None:
        now, heal = self.now, self.s.heal_at
        active = [f for f in self.s.faults if f.active(now, heal)]

        def hit(kind: Kind, who: str) -> bool:
            return any(f.kind is kind and (who in f.targets or ALL in f.targets) for f in active)

        self.net.quorum_ok = not any(f.kind is Kind.QUORUM for f in active)
        self.hostile = {h for f in active if f.kind is Kind.HOSTILE for h in f.targets}
        self.join_forgers = {h for f in active if f.kind is Kind.JOIN_FORGER for h in f.targets}
        self.liars = {
            kind: {h for f in active if f.kind is kind for h in f.targets}
            for kind in (Kind.STALE_LIAR, Kind.LEASE_LIAR)
        }
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
        if now >= heal and self.bmc_off:
            # The operator powers on the hosts their BMCs powered off (never automatic).
            self._trace(f"operator powers on {sorted(self.bmc_off)}")
            self.bmc_off = set()
        read_only = {x for x in self.host_names if hit(Kind.STORE_READ_ONLY, x)}
        for x in sorted(read_only ^ self.store_read_only):
            self._trace(f"{x} store: {'read-only' if x in read_only else 'writable'}")
        self.store_read_only = read_only
        for h in self.hosts.values():
            self._host_faults(
                h,
                powered=not hit(Kind.POWER, h.name) and h.name not in self.bmc_off,
                hung=hit(Kind.HANG, h.name),
                store=not hit(Kind.STORE_LINK, h.name),
            )
        for node in self.nodes.values():
            host_on = node.host is None or self.hosts[node.host].powered
            self._node_faults(node, alive=host_on and not hit(Kind.ARBITER_CRASH, node.name))
        self._watch_outage(now)
        self.checker.set_health(POOL, self.net.quorum_ok, now)
        for ep in self.endpoints:
            q = self.net.quality[ep]
            healthy = self.net.side[ep] == QUORUM and q.loss == 0.0
            host = self.hosts.get(ep)
            if host is not None:
                healthy = healthy and host.powered and not host.hung and self._store_works(ep)
                # A host slow to take its orders cannot be held to the restart deadline.
                healthy = healthy and not hit(Kind.ORDER_DELAY, ep)
            self.checker.set_health(ep, healthy, now)

    def _watch_outage(self, now: float) -> None:
        """Invariant 3's global bus outage: every powered host cut from the quorum at once,
        nothing else wrong; any later change ends the promise (checked before this step's
        health updates, so that the calm before the outage can be judged)."""
        powered = [n for n, h in self.hosts.items() if h.powered]
        cut = all(
            not self.net.reaches_quorum(n) and self._store_works(n) and not self.hosts[n].hung
            for n in powered
        )
        clean = all(self.net.quality[ep] == Quality() for ep in self.endpoints)
        state = (
            (tuple(powered), tuple(self.net.side.get(n) for n in powered), self.net.quorum_ok)
            if cut and clean and powered
            else None
        )
        if state != self._outage_state:
            if state is not None and self._outage_state is None:
                self.checker.outage_began(now, powered, dict(self.off_since))
            else:
                self.checker.outage_since = None
        self._outage_state = state

    def _host_faults(self, h: HostSim, *, powered: bool, hung: bool, store: bool) -> None:
        if store != self.store_up[h.name]:
            self._trace(f"{h.name} store: {'reachable' if store else 'unreachable'}")
        self.store_up[h.name] = store
        if h.powered and not powered:
            self.off_since[h.name] = self.now
            self._trace(f"{h.name} power off, killing {sorted(h.vms) or 'no VM'}")
            self.milestones.append((self.now, "power_off", h.name))
            h.powered = False
            self._kill_vms(h)
            self._shutdown(h)
        elif powered and not h.powered:
            self.off_since.pop(h.name, None)
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


def run(schedule: Schedule, **kwargs: Any) -> Outcome:
    return Sim(schedule, **kwargs).run()
