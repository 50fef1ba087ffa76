"""From the folded state back to a pool description (`haplan pool export`, the planner)."""

from __future__ import annotations

from pydantic import ValidationError

from schemas.pool import Pool
from schemas.pool_file import PoolError
from services.state.model import PoolState


def to_pool(state: PoolState) -> Pool:
    """The pool as the log describes it now: VMs on the hosts they run on (a VM waiting for
    a restart is halted), hosts in the order they were added, settings as last set."""
    if state.name is None:
        raise PoolError("the event log holds no pool yet (load one with `haplan pool create`)")
    vms = tuple(
        vm.spec if vm.spec.host == vm.host else vm.spec.model_copy(update={"host": vm.host})
        for vm in state.vms.values()
    )
    try:
        return Pool(
            name=state.name,
            ha=state.ha,
            hosts=tuple(h.spec for h in state.hosts.values()),
            vms=vms,
        )
    except ValidationError as exc:
        msg = str(exc.errors(include_url=False)[0]["msg"]).removeprefix("Value error, ")
        raise PoolError(f"the pool recorded in the event log is not a valid pool: {msg}") from None
