"""The arbiter shell of each simulated leader candidate: leader election on the KV model, its
own reads of the store, the pure arbiter core's tick, appending its decisions (revoking dead
incarnations' leases) and sending its orders.

An arbiter on a host reads the store through that host's link (its faults `store_link` and
`store_delay`); a witness reaches the store unless every host has lost it (a `store_link` on
every host is the storage itself down).
"""

from __future__ import annotations

from schemas.liveness import SignedRecord
from schemas.messages import StartOrder
from schemas.slot import Slot
from services.arbiter.view import Decision, DeclaredDead, RestartOrdered, VmRunning
from services.sim.bmc import BmcShells
from services.sim.faults import Kind
from services.sim.world import NodeSim, accepted_by, beacon_to, ordered_to


class ArbiterShells(BmcShells):
    # The arbiter shell -------------------------------------------------------------------------

    def _node_tick(self, name: str, version: int) -> None:
        node = self.nodes[name]
        if not node.alive or version != node.tick_version:
            return
        self._lead_or_follow(node)
        node.core.store_read(self._store_read(node), self.now + node.offset)
        self._lead_step(node)
        self.at(self.t.interval_s, self._node_tick, name, version)

    def _lead_step(self, node: NodeSim) -> None:
        """The leader's tick: append its decisions, send its orders (also run at once when
        an input asks for it, as the real shell does: a BMC's answer)."""
        if node.core.is_leader:
            now = self.now + node.offset
            out = node.core.tick(now)
            for d in out.decisions:
                self._append(node, d)
            forgeries = node.core.take_forgeries()
            if forgeries:  # seldom any: Counter.update costs even for none
                self.forgeries.update(f.why for f in forgeries)
            for order in out.orders:
                self._order(node, order)
            for power_off in out.power_offs:
                self._power_off(node, power_off)
            for acc in out.accepted:
                self._send(node.endpoint, acc.host, self._to_host, accepted_by(acc))
            if out.beacon is not None:
                for host in self.host_names:
                    self._send(node.endpoint, host, self._to_host, beacon_to(out.beacon))

    def _store_read(self, node: NodeSim) -> list[tuple[Slot, SignedRecord | None]] | None:
        """What the arbiter's own read of the store gives now (None: it fails)."""
        if node.host is None:
            reaches = any(self.store_up.values())
        else:
            delay = self._latent(Kind.STORE_DELAY, node.host)
            stalled = delay is not None and delay >= self.t.interval_s
            reaches = self.store_up[node.host] and not stalled
        if not reaches:
            return None
        return [(slot, self.records.get(host)) for host, slot in self.slots.items()]

    def _order(self, node: NodeSim, order: StartOrder) -> None:
        """Send a start order (every tick while the VM is ordered); under ORDER_DELAY it
        reaches the collector `amount` later, or not at all while the fault holds."""
        late = self._latent(Kind.ORDER_DELAY, order.host)
        args = (node.endpoint, order.host, self._to_host, ordered_to(order))
        if late is None:
            self._send(*args)
        elif late > 0:
            self.at(late, self._send, *args)

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
            if isinstance(d, VmRunning):
                self.milestones.append((self.now, "reported", d.vm))  # its start, as recorded
            self._trace(f"{node.name}: {_describe(d)}")

    def _leader_change(self) -> None:
        node = self._leader()
        if node is None:
            return
        node.core.lose_leadership()
        node.resigned_until = self.now + 2 * self.t.interval_s
        self.kv.leader = None
        self._trace(f"{node.name} hands over the leadership")


def _describe(d: Decision) -> str:
    name = type(d).__name__
    # Evidence and a join's signed record are long and say nothing a trace reader needs.
    shown = (k for k in d.__dataclass_fields__ if k not in ("evidence", "record"))
    fields = ", ".join(f"{k}={getattr(d, k)}" for k in shown)
    return f"{name}({fields})"
