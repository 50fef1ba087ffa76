"""A brute-force oracle for the planner tests: independent of the planner's code on purpose.

Enumerates every failure set with itertools.combinations and decides each by exhaustive
backtracking over VM-to-host assignments. Only for tiny pools (a few hosts, about a dozen VMs).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

from schemas import Pool

Vm = tuple[int, str | None]  # footprint, anti-affinity group
Host = tuple[int, frozenset[str]]  # free memory, groups already running there


def survivors(pool: Pool, failed: set[str]) -> list[Host]:
    out = []
    for h in pool.hosts:
        if h.name in failed:
            continue
        groups = frozenset(v.anti_affinity for v in pool.vms_on(h.name) if v.anti_affinity)
        out.append((pool.free_mib(h.name), groups))
    return out


def protected(pool: Pool, failed: set[str]) -> list[Vm]:
    return [
        (v.memory_mib + v.memory_overhead_mib, v.anti_affinity)
        for v in pool.vms
        if v.host in failed and v.ha_restart_priority == "restart"
    ]


def packs(vms: Sequence[Vm], hosts: Sequence[Host]) -> bool:
    """Whether every VM can go to some host: plain exhaustive search, largest VM first."""
    vms = sorted(vms, key=lambda v: -v[0])
    room = [h[0] for h in hosts]
    groups = [set(h[1]) for h in hosts]

    def place(i: int) -> bool:
        if i == len(vms):
            return True
        size, group = vms[i]
        for j in range(len(room)):
            if room[j] >= size and (group is None or group not in groups[j]):
                room[j] -= size
                if group is not None:
                    groups[j].add(group)
                ok = place(i + 1)
                room[j] += size
                if group is not None:
                    groups[j].discard(group)
                if ok:
                    return True
        return False

    return place(0)


def feasible(pool: Pool, failed: set[str]) -> bool:
    return packs(protected(pool, failed), survivors(pool, failed))


def max_failures(pool: Pool) -> int:
    names = [h.name for h in pool.hosts]
    for k in range(1, len(names)):
        if any(not feasible(pool, set(f)) for f in combinations(names, k)):
            return k - 1
    return len(names) - 1


def best_restart_score(pool: Pool, failed: set[str]) -> tuple[int, int, int]:
    """The best (restart placed, best-effort placed, -sum of order ranks placed) over every
    subset of the candidates that can be packed; candidates are the agile restart and
    best-effort VMs running on the failed hosts."""
    cands = [
        v
        for v in pool.vms
        if v.host in failed and v.agile and v.ha_restart_priority in ("restart", "best-effort")
    ]
    distinct = sorted({v.order for v in cands})
    hosts = survivors(pool, failed)
    scored = []
    for r in range(len(cands) + 1):
        for subset in combinations(cands, r):
            score = (
                sum(v.ha_restart_priority == "restart" for v in subset),
                sum(v.ha_restart_priority == "best-effort" for v in subset),
                -sum(distinct.index(v.order) for v in subset),
            )
            scored.append((score, subset))
    scored.sort(key=lambda s: s[0], reverse=True)
    for score, subset in scored:
        if packs([(v.memory_mib + v.memory_overhead_mib, v.anti_affinity) for v in subset], hosts):
            return score
    raise AssertionError("the empty subset always packs")
