"""The arbiter leader's fencing chains in the background: one task per power-off order of
the core (services.arbiter.power), its answer handed back to the core if the same leader is
still in office, and the next tick run at once (the declaration may be due)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from schemas.fencing import FencingAgent
from services.arbiter.power import PowerOffOrder
from services.bmc.chain import power_off
from services.common.logging import get_logger

if TYPE_CHECKING:
    from services.arbiter.office import Office
    from services.arbiter.parts import ArbiterParts

log = get_logger("haplan.bmc")


class ChainRunner:
    def __init__(
        self, service: ArbiterParts, clock: Callable[[], float], wake: Callable[[], None]
    ) -> None:
        # wake: makes the leader tick at once on an answer (it sets the fenced-notice event).
        self.service, self.clock, self._wake = service, clock, wake
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, order: PowerOffOrder, office: Office) -> None:
        host = self.service.view.state.hosts.get(order.host)
        chain = host.spec.fencing if host is not None else ()
        if not chain:
            return
        log.warning("powering a suspected host off through its BMC", host=order.host,
                    incarnation=order.incarnation)  # fmt: skip
        task = asyncio.create_task(self._run(order, chain, office), name=f"power-off {order.host}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(
        self, order: PowerOffOrder, chain: tuple[FencingAgent, ...], office: Office
    ) -> None:
        try:
            proof = await power_off(order.host, order.incarnation, chain, self.clock)
        except Exception as exc:  # a bug in a client library: logged; the old path holds
            log.exception("the fencing chain failed", host=order.host, error=repr(exc))
            return
        svc = self.service
        if svc.office is office and svc.core.power_off_answer(order.host, proof, self.clock()):
            self._wake()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
