"""Small pools for the planner tests, written compactly, and a hypothesis strategy for them."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from schemas import Pool

VmSpec = tuple[str, int, str | None, str]  # name, memory, host, priority


def pool(
    hosts: dict[str, int],
    vms: list[dict[str, Any]],
    ntol: int = 0,
    name: str = "test pool",
) -> Pool:
    """A pool from {host: memory_mib} and VM dicts (keys of the pool file)."""
    return Pool.model_validate(
        {
            "name": name,
            "ha": {"host_failures_to_tolerate": ntol},
            "hosts": [{"name": h, "memory_mib": m} for h, m in hosts.items()],
            "vms": vms,
        }
    )


def vm(
    name: str, memory: int, host: str | None, priority: str = "restart", **extra: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "memory_mib": memory,
        "host": host,
        "ha_restart_priority": priority,
        **extra,
    }


@st.composite
def small_pools(
    draw: st.DrawFn, max_hosts: int = 6, max_vms: int = 12, groups: bool = True
) -> Pool:
    """Random pools of 2..max_hosts hosts and up to max_vms VMs. Host memory and VM sizes are
    small integers so that pools are often tight (greedy packing then fails now and then);
    VMs that would overfill their host are made halted instead."""
    n = draw(st.integers(2, max_hosts))
    hosts = {f"h{i}": draw(st.integers(6, 24)) for i in range(n)}
    used = dict.fromkeys(hosts, 0)
    vms = []
    for i in range(draw(st.integers(0, max_vms))):
        memory = draw(st.integers(1, 12))
        host: str | None = draw(st.sampled_from([*hosts, None]))
        if host is not None and used[host] + memory > hosts[host]:
            host = None
        if host is not None:
            used[host] += memory
        priority = draw(st.sampled_from(["restart", "restart", "best-effort", ""]))
        agile = priority == "restart" or draw(st.booleans())
        extra: dict[str, Any] = {"agile": agile, "order": draw(st.integers(0, 2))}
        if groups and draw(st.integers(0, 3)) == 0:
            extra["anti_affinity"] = draw(st.sampled_from(["web", "db"]))
        vms.append(vm(f"vm{i}", memory, host, priority, **extra))
    ntol = draw(st.integers(0, n - 1))
    return pool(hosts, vms, ntol)


@st.composite
def tight_pools(draw: st.DrawFn, max_hosts: int = 6) -> Pool:
    """Random pools of nearly full hosts running mostly protected VMs of coarse sizes (2..8 on
    hosts of 8..20): packings are tight, greedy packings often fail and many failure sets are
    infeasible only because of how the VMs split, not for lack of total memory."""
    n = draw(st.integers(3, max_hosts))
    hosts = {f"h{i}": draw(st.integers(8, 20)) for i in range(n)}
    vms = []
    for h, memory in hosts.items():
        used = 0
        for j in range(draw(st.integers(0, 4))):
            size = draw(st.integers(2, 8))
            if used + size <= memory:
                used += size
                priority = draw(st.sampled_from(["restart", "restart", "restart", "best-effort"]))
                vms.append(vm(f"{h}-{j}", size, h, priority))
    return pool(hosts, vms)
