"""`haplan vm shutdown` waits for the VM to be halted before saying it is done.

The leader answers a shutdown of a running VM as soon as it has sent the stop order: its reply
said `halted: false`, which an operator reads as "it failed". A stop is not done until it is
confirmed, so the command then asks the leader's status until the VM shows `halted` there (the
collector reported the exit, the leader recorded `vm_shut_down_by_admin`), and answers
`halted: true`. No confirmation within the wait is an answer, "not yet" (exit 1), not an error
of the operator's: the order stands.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from services.cli.ops import Refused, bus, send, until_vm_shows

if TYPE_CHECKING:
    from schemas.ops import VMShutdown
    from services.common.settings import BusSettings

async def shutdown_confirmed(
    settings: BusSettings, op: VMShutdown, wait_s: float
) -> dict[str, Any]:
    """Send the shutdown; when the leader only ordered the stop, wait up to `wait_s` for its
    status to show the VM halted. The reply's detail, with `halted` true once confirmed."""
    detail = await send(settings, op)
    if detail.get("halted") or wait_s <= 0:
        return detail
    async with bus(settings) as nc:
        try:
            await asyncio.wait_for(
                until_vm_shows(nc, op.vm, lambda v: v.get("power_state") == "halted"), wait_s
            )
        except TimeoutError:
            raise Refused(
                f"the stop of VM {op.vm!r} was ordered, but it was not halted within {wait_s:g} s",
                "see `haplan status` and the host's collector log; the order stands",
            ) from None
    return detail | {"halted": True}
