"""`haplan vm migrate` waits for the VM to run on its new host before saying it is done.

The leader answers once it has sent the stop order; the start on the target follows the
confirmed stop. As `vm shutdown` does (services.cli.vm_halt), the command then asks the
leader's status until the VM shows running on the target, and answers `running: true`. No
confirmation within the wait is an answer, "not yet" (exit 1): the migration goes on.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from services.cli.ops import Refused, bus, send, until_vm_shows

if TYPE_CHECKING:
    from schemas.ops import VMMigrate
    from services.common.settings import BusSettings

async def migration_confirmed(
    settings: BusSettings, op: VMMigrate, wait_s: float
) -> dict[str, Any]:
    """Send the migration; wait up to `wait_s` for the leader's status to show the VM running
    on the target. The reply's detail, with `running` true once confirmed."""
    detail = await send(settings, op)
    if wait_s <= 0:
        return detail | {"running": False}
    async with bus(settings) as nc:
        try:
            moved = (op.host, "running")
            await asyncio.wait_for(
                until_vm_shows(nc, op.vm, lambda v: (v.get("host"), v.get("power_state")) == moved),
                wait_s,
            )
        except TimeoutError:
            raise Refused(
                f"VM {op.vm!r} was stopped to move it to {op.host}, but it was not running there "
                f"within {wait_s:g} s",
                "see `haplan status` and `haplan audit explain VM`",
            ) from None
    return detail | {"running": True}
