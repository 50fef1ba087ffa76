"""The collector shell of each simulated host: lease renewals through the KV model (and the news
of a revoked lease), slot writes and reads, the pure collector core's tick, its watchdog,
fencing (kill, confirm, then mark) and reboots (no join while an earlier incarnation's VM
lives)."""

from __future__ import annotations

from schemas.reports import HostReport
from services.collector.core import WATCHDOG_FIRED, Collector, FenceMark, Phase, Tick
from services.common.watchdog_timing import may_pet
from services.sim.faults import Kind
from services.sim.hostile import FLOOD, forged_joins, lease_lie, stale_lies
from services.sim.store import StoreShells
from services.sim.world import HostSim, heard_by


class HostShells(StoreShells):
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
        if not self.net.quorum_ok:
            return
        if not self.kv.renew(host, incarnation):
            self._refused(host, incarnation)
            return
        leader = self._leader()
        watched = self._latent(Kind.LEASE_WATCH, host) is None
        if leader is not None and watched and self.net.reaches_quorum(leader.endpoint):
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

    def _refused(self, host: str, incarnation: str) -> None:
        """The compare-and-set failed and the key, read back, holds no value of this
        incarnation: the lease was revoked. The news travels back as an ack would, later or
        never under LATE_REVOCATION."""
        late = self._latent(Kind.LATE_REVOCATION, host)
        if late == 0.0:
            return
        delays = self.net.delays(host, host)
        if delays:
            self.at(delays[0] + (late or 0.0), self._revoked, host, incarnation)

    def _revoked(self, host: str, incarnation: str) -> None:
        c = self.hosts[host].collector
        if c is None or c.incarnation != incarnation or not self.net.reaches_quorum(host):
            return
        self._trace(f"{host} ({incarnation}) learns its lease was revoked")
        self._to_host(host, host, lambda col, now: col.lease_revoked())

    # The collector shell -----------------------------------------------------------------------

    def _collector_tick(self, host: str, version: int) -> None:
        h = self.hosts[host]
        c = h.collector
        if version != h.tick_version or c is None or h.hung:
            return
        now = self.now + h.offset
        if c.phase is Phase.JOINING and (h.vms or c.waits_for_earlier_vms):
            self._kill_leftovers(h, c)
        if c.phase is not Phase.FENCED and not c.waits_for_earlier_vms:
            self._renew(h, c.incarnation, now)
            slot = c.slot(now)
            if host in self.liars.get(Kind.LEASE_LIAR, ()):
                slot = lease_lie(slot, self.t.timeout_s)
            written, read = self._store_call(slot, signed=c.phase is Phase.JOINING)
            c.slot_written(now, written)
            c.slots_read(now, list(self.slots.values()) if read else None, self.records)
        out = c.tick(now)
        if out.fence:
            self._fence(h, c, out)
            return
        if out.pet_until is not None:
            self._pet(h, out.pet_until - h.offset)
        for order in out.starts:
            self._start_vm(h, order.vm, order.order_id)
        self._publish(h, c, out)
        self._report_exits(h, c, out)
        self.at(self.t.interval_s, self._collector_tick, host, version)

    def _publish(self, h: HostSim, c: Collector, out: Tick) -> None:
        hb = out.heartbeat
        heard = heard_by(hb)  # one delivery for every peer: it holds no state
        hosts, me = self.hosts, h.name
        for peer in self.host_names:
            if peer != me and hosts[peer].collector is not None:
                self._send(me, peer, self._to_host, heard)
        self._to_leader(h.name, "heartbeat", hb)
        observation = out.observation
        if me in self.liars.get(Kind.STALE_LIAR, ()):
            observation = stale_lies(observation, self.slots, self.forger.replays)
        self._to_leader(h.name, "store_observation", observation)
        if out.join is not None:
            self._to_leader(h.name, "join_request", out.join)
        if h.name in self.hostile:
            forged = self.forger.observation(out.observation, self.slots, self.records)
            # At random instants of the interval: some land between a victim's lease renewal
            # and the leader's tick, as a real flood's would.
            for _ in range(FLOOD):
                step = self.rng.uniform(0, self.t.interval_s)
                self.at(step, self._to_leader, h.name, "store_observation", forged)
        if h.name in self.join_forgers:
            self._forge_joins(h, out)

    def _forge_joins(self, h: HostSim, out: Tick) -> None:
        """A join forger's requests, each at its own random instant of the interval: the
        leader keeps one pending request per host, so every kind gets its turn to be the one
        the leader's tick weighs."""
        beacon = out.heartbeat.beacon
        for join in forged_joins(h.name, self.slots, self.forger.replays, beacon):
            step = self.rng.uniform(0, self.t.interval_s)
            self.at(step, self._to_leader, h.name, "join_request", join)

    def _report_exits(self, h: HostSim, c: Collector, out: Tick) -> None:
        """The collector's report, sent while it has exits to tell (for about T, as the real
        one repeats them); a host with nothing to tell sends none (the sim's VMs only stop
        otherwise with their host)."""
        h.exits = [(at, e) for at, e in h.exits if self.now - at <= self.t.timeout_s]
        if not h.exits:
            return
        hb = out.heartbeat
        report = HostReport(
            host=h.name, incarnation=c.incarnation, seq=hb.seq, phase=out.phase.value,
            lease_ok=hb.lease_ok, store_ok=hb.store_ok, exits=tuple(e for _, e in h.exits),
        )  # fmt: skip
        self._to_leader(h.name, "host_report", report)

    def _fence(self, h: HostSim, c: Collector, out: Tick) -> None:
        if c.incarnation not in self._fenced_incarnations and out.reason != WATCHDOG_FIRED:
            self._fenced_incarnations.add(c.incarnation)
            self.checker.fenced(h.name, self.now, "fenced")
        self._trace(f"{h.name} ({c.incarnation}) fences: {out.reason}")
        self.milestones.append((self.now, "fence", h.name))
        mark = self._fence_mark(h, c, self._fence_kill(h))
        if mark is not None:
            self._store_call(mark.slot, signed=True)
            self._to_leader(h.name, "fenced_notice", mark.notice)
        else:
            self._trace(f"{h.name} ({c.incarnation}) cannot confirm the kill: no fenced mark")
        self._shutdown(h)
        self.at(self.reboot_s, self._boot, h.name, h.tick_version)

    def _fence_mark(self, h: HostSim, c: Collector, confirmed: bool) -> FenceMark | None:
        """The fenced mark, written only once every VM is confirmed dead (the shell's rule;
        a mutation test's subclass breaks it)."""
        return c.vms_dead(self.now + h.offset) if confirmed else None

    def _fence_kill(self, h: HostSim) -> bool:
        """Kill the host's VMs; whether the kill is confirmed within the shell's deadline.
        Under STUCK_KILL the VMs live on: they die `amount` later, or when the watchdog,
        which a fence without confirmation never disarms, fires at its deadline."""
        late = self._latent(Kind.STUCK_KILL, h.name) if h.vms else None
        if late is None:
            self._kill_vms(h)
            return True
        doomed = dict(h.vms)
        if late > 0:
            self.at(late, self._late_death, h.name, doomed, "the late kill")
        wd = max(0.0, h.wd_deadline - self.now)
        self.at(wd, self._late_death, h.name, doomed, "the watchdog")
        self._trace(f"{h.name}: the kill of {sorted(doomed)} is stuck")
        return False

    def _late_death(self, host: str, doomed: dict[str, int], how: str) -> None:
        h = self.hosts[host]
        dead = sorted(vm for vm, inst in doomed.items() if h.vms.get(vm) == inst)
        if dead:
            self._trace(f"{host}: {how} kills {dead}")
            self._kill_vms(h, dead)

    def _kill_leftovers(self, h: HostSim, c: Collector) -> None:
        """A new incarnation kills what an earlier one left, every tick until none lives."""
        if h.vms and self._latent(Kind.STUCK_KILL, h.name) is None:
            self._trace(f"{h.name} kills the VMs an earlier incarnation left: {sorted(h.vms)}")
            self._kill_vms(h)
        c.earlier_vms_alive(len(h.vms))

    def _shutdown(self, h: HostSim) -> None:
        h.collector = None
        h.exits.clear()
        h.tick_version += 1
        h.wd_version += 1
        h.queue.clear()

    def _boot(self, host: str, version: int) -> None:
        h = self.hosts[host]
        if not h.powered or version != h.tick_version or h.collector is not None:
            return
        h.boots += 1
        h.offset = self.rng.uniform(0, 1000)
        c = self.collector_cls(
            host, self._incarnation(h), self.host_names, self.t, self.now + h.offset, self.table,
            device_watchdog=self.s.device_watchdog_s is not None,
        )  # fmt: skip
        h.collector = c
        h.wd_deadline = self.now + self.t.watchdog_deadline_s
        if not h.vms:
            # With VMs of an earlier incarnation alive the collector does not open the device
            # (services.collector.devices): the earlier one's deadline stands for them.
            self._arm_device(h)
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

    def _arm_device(self, h: HostSim) -> None:
        """Opening a device watchdog arms it: it fires D later unless petted."""
        device = self.s.device_watchdog_s
        if device is None:
            return
        h.wd_version += 1
        h.wd_deadline = self.now + device
        self.at(device, self._watchdog, h.name, h.wd_version)

    def _pet(self, h: HostSim, deadline: float) -> None:
        device = self.s.device_watchdog_s
        if device is not None:
            # A device takes a timeout, not a deadline: it fires `device` after the last pet,
            # so a pet is taken only while it then fires by the deadline plus one interval
            # (the pet rule, services.common.watchdog_timing).
            if not self._may_pet(deadline - self.now, device):
                return  # skipped: the device runs down from the previous pet, which fitted
            deadline = self.now + device
        h.wd_version += 1
        h.wd_deadline = deadline
        self.at(max(0.0, deadline - self.now), self._watchdog, h.name, h.wd_version)

    def _may_pet(self, valid_for_s: float, device_s: float) -> bool:
        """The driver's pet rule (a mutation test's subclass breaks it)."""
        return may_pet(valid_for_s, device_s, self.t.interval_s)

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
