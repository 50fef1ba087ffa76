"""The host's VMs as the collector shell runs them: starts, admin stops, exits and their causes.

Each start runs a fresh instance whose id is the order id (the arbiter matches the instance it
ordered with the one reported running). Exits and failed starts stay in the host reports for
`keep_s` (about T) so that a lost report loses nothing.

Once the host fences or stops (`fencing()`, the core's phase as the shell reads it), every exit
is reported with cause `fenced`: the arbiter must not read a VM its own host killed as a VM lost
on a healthy host.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from schemas.messages import StartOrder
from schemas.reports import ExitCause, RunningVM, StartFailure, VMExitReport
from services.drivers import VMDriver, VMExit

# Bounds the repeated history whatever happens (a VM crashing in a loop).
_MAX_KEPT = 64

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Kept(Generic[T]):
    at: float
    item: T


class VMRunner:
    def __init__(
        self,
        driver: VMDriver,
        keep_s: float,
        fencing: Callable[[], bool],
        prepare: Callable[[], object] | None = None,
    ) -> None:
        self.driver = driver
        self._fencing = fencing
        self._prepare = prepare  # run before each start, e.g. create the disks directory
        self._keep_s = keep_s
        self._exits: deque[_Kept[VMExitReport]] = deque(maxlen=_MAX_KEPT)
        self._failed: deque[_Kept[StartFailure]] = deque(maxlen=_MAX_KEPT)

    def start(self, order: StartOrder, now: float) -> StartFailure | None:
        try:
            if self._prepare is not None:
                self._prepare()
            self.driver.start(order.vm, order.order_id)
        except (OSError, ValueError, RuntimeError) as exc:
            failure = StartFailure(vm=order.vm, instance=order.order_id, reason=str(exc))
            self._failed.append(_Kept(now, failure))
            return failure
        return None

    def reap(self, now: float) -> list[VMExit]:
        exits = self.driver.reap()
        for e in exits:
            cause: ExitCause = e.cause
            if cause != "admin-shutdown" and self._fencing():
                cause = "fenced"
            self._exits.append(_Kept(now, VMExitReport(vm=e.vm, instance=e.instance, cause=cause)))
        return exits

    def late_failures(self, now: float) -> list[StartFailure]:
        """Starts that failed in the driver's own thread after `start` returned."""
        take = getattr(self.driver, "start_failures", None)
        if take is None:
            return []
        failures = [StartFailure(vm=f.vm, instance=f.instance, reason=f.reason) for f in take()]
        self._failed.extend(_Kept(now, f) for f in failures)
        return failures

    def running(self) -> tuple[RunningVM, ...]:
        return tuple(
            RunningVM(vm=vm, instance=inst) for vm, inst in sorted(self.driver.running().items())
        )

    def recent_exits(self, now: float) -> tuple[VMExitReport, ...]:
        return tuple(k.item for k in self._exits if now - k.at <= self._keep_s)

    def recent_failures(self, now: float) -> tuple[StartFailure, ...]:
        return tuple(k.item for k in self._failed if now - k.at <= self._keep_s)
