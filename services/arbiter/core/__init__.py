"""The arbiter's decision core: no IO, no clock; the shell passes the leader's monotonic time.

Only the leader decides. Its inputs: lease renewals (from the KV bucket), fenced notices,
store observations and heartbeats (from the bus), join requests, leadership gained or lost,
and, for an arbiter given a store, its own reads of the heartbeat store (`store_read`: the
timeout path's stillness, services.arbiter.stillness). Every interval `tick(now)` returns
the decisions to append to the log (in order), the orders and join acceptances to send, and
the next beacon. The shell appends the decisions with
the expected-last-sequence guard before it sends anything, and when it appends a declaration
it also revokes the dead incarnation's lease (compare-and-set on its revision), so that a
renewal still in flight cannot bring that incarnation back.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.messages import Beacon, JoinAccepted, StartOrder
from schemas.reports import StopOrder
from services.arbiter.core.intake import Intake
from services.arbiter.core.joins import Joins
from services.arbiter.core.judgement import Judgement
from services.arbiter.core.stops import Stops
from services.arbiter.power import PowerOffOrder

# Looked up at each tick (Arbiter.tick), so that a test may replace it here.
from services.arbiter.testimony import join_problem
from services.arbiter.view import Decision, VmRunning, fold

__all__ = ["Arbiter", "ArbiterTick", "join_problem"]


@dataclass(frozen=True, slots=True)
class ArbiterTick:
    decisions: tuple[Decision, ...] = ()
    orders: tuple[StartOrder, ...] = ()
    accepted: tuple[JoinAccepted, ...] = ()
    beacon: Beacon | None = None
    stops: tuple[StopOrder, ...] = ()
    # Hosts to power off through their BMCs (services.arbiter.power); the shell runs each
    # host's chain off the event loop and gives the answer to `power_off_answer`.
    power_offs: tuple[PowerOffOrder, ...] = ()


class Arbiter(Intake, Judgement, Joins, Stops):
    """The leader's decision core: its inputs (`Intake`) record evidence; its tick, every
    interval, runs the parts in order: VM reports and claims, joins, suspicion, the guard,
    power-off orders and declarations (`Judgement`), joins again, then placement."""

    def tick(self, now: float) -> ArbiterTick:
        ev = self._ev
        if ev is None:
            return ArbiterTick()
        out: list[Decision] = []

        def decide(d: Decision) -> None:
            out.append(d)
            self.view = fold(self.view, d)
            if isinstance(d, VmRunning):
                self._running_since[d.vm] = now

        for key in sorted(self._running):
            vm = self.view.vms.get(key[0])
            if vm is not None and vm.state == "ordered" and (vm.host, vm.incarnation) == key[1:]:
                decide(VmRunning(*key))
        self._running.clear()
        self._vm_reports(now, decide)
        self._boot(decide)
        # `join_problem` is looked up here, at each tick: tests/sim/test_mutations.py
        # replaces services.arbiter.core.join_problem to show the simulator catches the
        # join rule without signatures.
        accepted = self._vouch_and_join(ev, now, decide, join_problem)
        power_offs: list[PowerOffOrder] = []
        if self.view.ha_enabled:  # HA off: nobody is suspected, declared dead or restarted
            fresh = ev.fresh_observations(now, self.timers.fresh_s)
            for name in self._members():
                host = self.view.hosts[name]
                assert host.incarnation is not None
                self._suspect(ev, host, host.incarnation, now, decide)
            self._guard(now, decide)  # weighs every suspicion of this tick
            power_offs = self._power_off_orders(ev, now, fresh)
            for name in self._members():
                host = self.view.hosts[name]
                assert host.incarnation is not None
                self._declare(ev, host, host.incarnation, now, fresh, decide)
            accepted += self._vouch_and_join(ev, now, decide, join_problem)
        # With HA off only the VMs moved off a host in maintenance are placed.
        only = None if self.view.ha_enabled else frozenset(self._moving)
        for d in self.orchestra.place(self.view, self.liveset(now), now, only):
            decide(d)
        self._moving = {vm for vm in self._moving if self.view.vms[vm].state != "running"}
        orders = tuple(
            StartOrder(order_id=v.order_id, vm=v.name, host=v.host, incarnation=v.incarnation)
            for v in self.view.vms.values()
            if v.state == "ordered" and v.order_id and v.host and v.incarnation
        )
        beacon = ev.next_beacon(now, keep_for=2 * self.timers.fresh_s)
        return ArbiterTick(
            tuple(out), orders, tuple(accepted), beacon, self._stop_orders(), tuple(power_offs)
        )
