"""The answer to `ha.op.status` (spec/cli.md, `haplan status --json`), from the folded log and
the leader's liveness view (pure).

A VM's `power_state` is what is true now, not only what the log recorded: the log says
`running` until a decision says otherwise, which takes a tick (and, for a host that fenced,
until it is declared dead). So a VM the log records running is shown `stopped` at once when
its host fenced or is dead, or when that host's newest report (same incarnation) does not
list it. `recorded_power_state`, present only when the two differ, keeps what the log says.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from schemas.reports import HostReport
from services.state import PoolState, VMState


def status_of(
    state: PoolState,
    leader: str | None,
    liveset: Collection[str],
    reports: Mapping[str, HostReport] | None = None,
    fenced: Collection[str] = (),
) -> dict[str, Any]:
    """`liveset` is the leader's current liveset: joined, lease current, not suspected,
    fenced or dead (services.arbiter.core.Arbiter.liveset), which the log alone cannot say.
    `reports`: each host's newest report; `fenced`: hosts the leader knows fenced (a mark)."""
    plan = state.plan
    return {
        "ok": True,
        "pool": state.name,
        "ha_enabled": state.ha.enabled,
        "leader": leader,
        # From the planner's last recorded plan; null until a planner has recorded one.
        "max_host_failures_to_tolerate": plan.max_host_failures_to_tolerate if plan else None,
        "host_failures_to_tolerate": state.ha.host_failures_to_tolerate,
        "overcommitted": state.overcommitted,
        # The guard against mass suspicion (docs/protocol.md): null while released.
        "guard": _guard(state),
        "hosts": [
            {
                "name": h.name,
                "state": h.liveness,
                "suspected": h.suspected,
                "in_liveset": h.name in liveset,
                "incarnation": h.incarnation,
            }
            for h in state.hosts.values()
        ],
        "vms": [_vm(state, v, reports or {}, fenced) for v in state.vms.values()],
    }


def _guard(state: PoolState) -> dict[str, Any] | None:
    guard = state.guard
    if guard is None:
        return None
    return {
        "engaged_at": guard.since.isoformat(),
        "suspected": list(guard.hosts),
        "members": guard.members,
        "share": guard.share,
        "holds": "declarations on silence (the timeout rule)",
    }


def _vm(
    state: PoolState, vm: VMState, reports: Mapping[str, HostReport], fenced: Collection[str]
) -> dict[str, Any]:
    shown: dict[str, Any] = {"name": vm.name, "host": vm.host}
    shown["power_state"] = power_now(state, vm, reports, fenced)
    if shown["power_state"] != vm.power_state:
        shown["recorded_power_state"] = vm.power_state
    # What `haplan vm list` shows and filters on ("" : not protected).
    shown["ha_restart_priority"] = vm.spec.ha_restart_priority
    shown["order"] = vm.spec.order
    shown["memory_mib"] = vm.spec.footprint
    return shown


def power_now(
    state: PoolState, vm: VMState, reports: Mapping[str, HostReport], fenced: Collection[str]
) -> str:
    """The VM's power state reconciled with what its host says (see the module docstring)."""
    if vm.power_state != "running" or vm.host is None:
        return vm.power_state
    host = state.hosts.get(vm.host)
    if host is None or vm.host in fenced or host.liveness in ("fenced", "dead"):
        return "stopped"
    report = reports.get(vm.host)
    if report is None or report.incarnation != host.incarnation:
        return vm.power_state  # nothing newer than the log to go by
    if report.phase == "fenced" or all(r.vm != vm.name for r in report.vms):
        return "stopped"
    return "running"
