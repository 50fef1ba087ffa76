"""Joins: vouching for join requests (fresh, not buried, backed by the host's own signed
slot), and a first incarnation's claim on the VMs the pool file runs on its host.
"""

from __future__ import annotations

from collections.abc import Callable

from schemas.liveness import FencedMark, SignedRecord
from schemas.messages import JoinAccepted
from services.arbiter.core.memory import MAX_FORGERIES, Decide, LeaderMemory
from services.arbiter.evidence import NEVER, Evidence
from services.arbiter.testimony import Forgery
from services.arbiter.view import Joined, RestartOrdered

# Why a join request is not backed by the host's own word (services.arbiter.testimony).
JoinCheck = Callable[[str | None, str, str, SignedRecord | None], str | None]


class Joins(LeaderMemory):
    """Join requests taken by the tick, and the VMs a first incarnation claims."""

    def _vouch_and_join(
        self, ev: Evidence, now: float, decide: Decide, problem: JoinCheck
    ) -> list[JoinAccepted]:
        """Accept the join requests that hold; `problem` is the signature check (the
        tick passes services.arbiter.core's `join_problem`, which the mutation tests swap)."""
        accepted = []
        for name in sorted(self._joins):
            req = self._joins[name]
            host = self.view.hosts.get(name)
            sent = ev.beacon_sent_at(req.beacon)
            if host is None or now - sent > self.timers.fresh_s:
                del self._joins[name]  # stale or foreign: the collector asks again
                continue
            if req.incarnation in host.buried:
                del self._joins[name]  # sent before it fenced: a dead incarnation stays dead
                continue
            forged = problem(host.key, name, req.incarnation, req.record)
            if forged is not None:
                # Only the host's credential publishes its join requests: one its own key
                # does not back is a forgery (or a broken collector); the collector asks again.
                if len(self.forgeries) < MAX_FORGERIES:
                    self.forgeries.append(Forgery(name, name, f"join request: {forged}"))
                del self._joins[name]
                continue
            if host.incarnation is None or host.dead:
                first = host.incarnation is None
                decide(Joined(name, req.incarnation, req.record))
                self._joined_at[name] = now
                if first:
                    self._claim(name, req.incarnation)
            elif host.incarnation != req.incarnation:
                if sent > self._joined_at.get(name, NEVER):
                    # A later incarnation asks: the one we know is fenced (killed at start).
                    self._mark(name, FencedMark(source="bus", incarnation=host.incarnation), now)
                continue  # joins once the known incarnation is declared dead
            accepted.append(JoinAccepted(host=name, incarnation=req.incarnation))
            del self._joins[name]
        return accepted

    def _claim(self, host: str, inc: str) -> None:
        """The VMs the pool file runs on `host` now belong to its first incarnation; the next
        heartbeat of that incarnation says whether it runs them (a host taken over mid-life)
        or not (a collector kills whatever it finds before it joins)."""
        self._heard[(host, inc)] = None
        for vm in self.view.vms.values():
            if (vm.state, vm.host, vm.incarnation, vm.instance) == ("running", host, inc, None):
                self._unclaimed[vm.name] = (host, inc)

    def _boot(self, decide: Decide) -> None:
        """Start in place the claimed VMs their host's heartbeat does not list."""
        for name in sorted(self._unclaimed, key=lambda n: (self.view.vms[n].order, n)):
            host, inc = self._unclaimed[name]
            heard = self._heard.get((host, inc))
            if heard is None:
                continue
            del self._unclaimed[name]
            vm = self.view.vms[name]
            if name not in heard and (vm.state, vm.host, vm.incarnation) == ("running", host, inc):
                decide(RestartOrdered(name, host, inc, f"order-{self.view.orders_issued + 1}"))
        for key in [k for k in self._heard if k not in set(self._unclaimed.values())]:
            del self._heard[key]
