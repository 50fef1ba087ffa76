"""The `hosts` rows of the planning answers (spec/planner.md: `plan --json` and the planner
service's answers): each host's memory and VMs. A view of the pool, kept here so that the CLI
and the planner service render the same rows without one importing the other (issue 21).
"""

from __future__ import annotations

from typing import Any

from schemas.pool import Pool


def host_rows(pool: Pool) -> list[dict[str, Any]]:
    """Each host's memory and VMs: the `hosts` of `plan --json`, and the hosts table."""
    return [
        {
            "name": h.name,
            "memory_mib": h.memory_mib,
            "reserved_mib": h.reserved_mib,
            "free_mib": pool.free_mib(h.name),
            "running_vms": len(pool.vms_on(h.name)),
            "protected_vms": sum(v.protected for v in pool.vms_on(h.name)),
        }
        for h in pool.hosts
    ]
