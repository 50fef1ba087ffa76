"""The answer to `ha.op.status` (spec/cli.md, `haplan status --json`), from the folded log and
the leader's liveness view (pure)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from services.state import PoolState


def status_of(state: PoolState, leader: str | None, liveset: Collection[str]) -> dict[str, Any]:
    """`liveset` is the leader's current liveset: joined, lease current, not suspected,
    fenced or dead (services.arbiter.core.Arbiter.liveset), which the log alone cannot say."""
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
        "vms": [
            {"name": v.name, "host": v.host, "power_state": v.power_state}
            for v in state.vms.values()
        ],
    }
