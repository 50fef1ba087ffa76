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


# Host states that cannot receive VMs now: they are not survivors of any failure set.
NOT_SURVIVORS = ("dead", "fenced", "excluded")


def plan_pool(state: PoolState) -> Pool:
    """The pool the failure plan is about: `to_pool` without the hosts that cannot take VMs
    now (dead, fenced or in maintenance); VMs still recorded on them count as halted (they
    are restarted or moved). ntol is clipped to the hosts left minus one to keep the
    description valid: the configured value, which overcommit is judged against, stays in
    the state (`state.ha.host_failures_to_tolerate`)."""
    pool = to_pool(state)
    gone = {name for name, h in state.hosts.items() if h.liveness in NOT_SURVIVORS}
    if not gone:
        return pool
    hosts = tuple(h for h in pool.hosts if h.name not in gone)
    if not hosts:
        raise PoolError(
            "no host of the pool can take VMs now (every one is dead, fenced or in maintenance)"
        )
    vms = tuple(v.model_copy(update={"host": None}) if v.host in gone else v for v in pool.vms)
    ntol = min(pool.ha.host_failures_to_tolerate, len(hosts) - 1)
    ha = pool.ha.model_copy(update={"host_failures_to_tolerate": ntol})
    return Pool(name=pool.name, ha=ha, hosts=hosts, vms=vms)
