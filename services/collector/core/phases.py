"""The life of an incarnation: JOINING -> MEMBER -> FENCED. The inputs that move it between
phases, and the tick of the joining and the fenced phase (the member's is Collector.tick).
"""

from __future__ import annotations

from schemas.messages import FencedNotice, JoinAccepted, JoinRequest
from services.collector.core.facts import TableFacts
from services.collector.core.memory import Phase
from services.collector.core.messages import FenceMark, Messages, Tick
from services.collector.table import Facts, decide

# Why an incarnation fences outside THE TABLE (its Tick.reason from then on).
WATCHDOG_FIRED = "the watchdog fired: the collector missed its deadline"
LEASE_REVOKED = (
    "the arbiter revoked this incarnation's host lease (it was declared dead): "
    "its VMs may already run elsewhere"
)
STOPPED = "stopped (SIGTERM): the host goes down with its VMs"


class Phases(Messages, TableFacts):
    """The phase and what moves it; a fenced incarnation stays fenced."""

    def join_accepted(self, msg: JoinAccepted) -> None:
        if msg.incarnation == self.incarnation and self.phase is Phase.JOINING:
            self.phase = Phase.MEMBER

    def watchdog_fired(self) -> None:
        """The watchdog killed this host's VMs: the incarnation is fenced, whatever it thinks."""
        self.vms.clear()
        self.fence(WATCHDOG_FIRED)

    def lease_revoked(self) -> None:
        """A renewal found the host lease revoked: the key holds no value of this incarnation
        any more (deleted by the arbiter, or another incarnation's), which the shell tells
        apart from a transient failure and from its own renewal whose ack was lost. The
        arbiter has declared this incarnation dead and may restart its VMs elsewhere now: it
        fences at its next tick, not T later."""
        self.fence(LEASE_REVOKED)

    def stopping(self) -> None:
        """SIGTERM: the incarnation ends with its VMs, as a fence does."""
        self.fence(STOPPED)

    def fence(self, reason: str) -> None:
        """Fence for `reason` (the shell's own, e.g. its failure); the first reason stays."""
        if self.phase is not Phase.FENCED:
            self._fence_reason = reason
            self.phase = Phase.FENCED
            self._orders.clear()

    def earlier_vms_alive(self, count: int | None) -> None:
        """How many VMs of earlier incarnations the shell still finds alive on this host;
        None when it could not check (the check hung): that counts as alive. A new
        incarnation's join (and its slot) tells the arbiter every earlier one is fenced, so
        none is asked for while any of them may live."""
        self._earlier_unchecked = count is None
        self._earlier_alive = 1 if count is None else max(0, count)

    @property
    def waits_for_earlier_vms(self) -> bool:
        """While VMs of an earlier incarnation live, this one writes no slot at all: the
        arbiter takes a later incarnation's slot as the earlier one's fenced mark."""
        return self._earlier_alive > 0

    def vms_dead(self, now: float) -> FenceMark | None:
        """The shell confirmed that every VM of this host is dead (killed, and none runs).
        A fenced incarnation gets its mark; before the confirmation there is none, nor while
        an earlier incarnation's VMs live (the mark would speak for them too)."""
        if self.phase is not Phase.FENCED or self._earlier_alive:
            return None
        self.vms.clear()
        return FenceMark(
            FencedNotice(host=self.host, incarnation=self.incarnation),
            self.slot(now, fenced=True),
        )

    def _tick_joining(self, now: float) -> Tick:
        self._orders.clear()
        if self._asked:
            # The leader may have accepted the join (and ordered VMs here) in a message this
            # host has not received: from the first request on, THE TABLE applies, so that an
            # incarnation the arbiter counts as a member cannot sit unreachable for ever.
            facts = self.facts(now)
            verdict = decide(facts, self._table)
            if not verdict.stay:
                self.fence(verdict.reason or "fenced")
                return self._tick_fenced(now, facts)
        join = None
        ready = self.lease_ok(now) and self.store_ok(now) and not self._earlier_alive
        # No VM of this incarnation runs while it joins: the pets only keep the watchdog from
        # firing for nothing. A device is shared with the earlier incarnations: no pet while
        # their VMs live, as it would postpone the reset they left to kill them. A process
        # watchdog is this incarnation's own (the earlier one's still runs to its deadline):
        # left unpetted it would fire and fence this incarnation for nothing, and its
        # successor would find the same VMs.
        no_pet = self._earlier_alive and self._device_watchdog
        pet_until = None if no_pet else now + self.timers.watchdog_deadline_s
        if ready and self._beacon is not None:
            join = JoinRequest(
                host=self.host,
                incarnation=self.incarnation,
                beacon=self._beacon,
                record=self._own_record,
            )
            self._asked = True
        return Tick(
            Phase.JOINING,
            None,
            fence=False,
            reason=self.join_reason(now),
            pet_until=pet_until,
            heartbeat=self._heartbeat(now),
            observation=self._observation(now),
            join=join,
        )

    def _tick_fenced(self, now: float, facts: Facts | None) -> Tick:
        self._orders.clear()
        return Tick(
            Phase.FENCED,
            facts,
            fence=True,
            reason=self._fence_reason,
            pet_until=None,
            heartbeat=self._heartbeat(now),
            observation=self._observation(now),
        )
