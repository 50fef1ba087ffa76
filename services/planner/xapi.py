"""XenServer's HA planner, re-implemented as a baseline to compare against (`--method xapi`).

Pure: no IO, no clock. Written from the published description of xapi's planner and from
reading (not copying) xapi's `ocaml/xapi/binpack.ml` and `ocaml/xapi/xapi_ha_vm_failover.ml`:

- Only protected VMs (`ha_restart_priority: restart`) are planned for; every other running VM
  is overhead that stays on its host, and with its host gone it is simply lost.
- Packing is biggest-fit decreasing ("worst fit"): the VMs to place, largest first, each go on
  the live host with the most free memory; a VM that does not fit there is left out, and a plan
  that leaves a protected VM out fails.
- For r failures in a pool of n hosts, when n <= 32 and C(n,r)·r! < 3500, every ordered
  sequence of r distinct failing hosts is simulated one host at a time: the protected VMs of the
  failed host, including those an earlier failure of the sequence moved onto it, are packed onto
  the hosts still up. Otherwise the approximation, which xapi's own comments call conservative:
  every protected VM is as large as the largest, a host holds `free // largest` of them, the r
  hosts holding the most fail, and they carry as many protected VMs as the r most loaded hosts.
- Max failures is found by bisection over r in [0, n-1], assuming (as xapi does) that a plan
  for r implies one for every smaller r. Ties are broken by pool order where xapi uses uuids.

haplan's only addition: xapi plans ignore anti-affinity; here a VM never goes on a host already
running a member of its group (in the approximation: VMs of a group need one host each among
those running no VM of any group), so the baseline stays comparable on such pools.

What the answer means. Every plan the baseline finds is a real restart plan (a successful
sequence of packings ends in a valid placement for its failure set, and the approximation's
slot counting is a valid placement argument), so its answer is proven: never above the truth.
But a packing heuristic that falls short proves nothing about infeasibility, so the baseline
refutes nothing: `upper_bound` is n-1, `worst_failure_set` is None, and `exact` only holds
when the answer is n-1 anyway. `plan_exists_for` says where and why the heuristic gave up.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb, factorial
from typing import Literal

from schemas import Pool
from services.planner.results import FailureCapacity

EXHAUSTIVE_BELOW = 3500
"""xapi enumerates failure orderings only while C(n,r)·r! is below this."""
EXHAUSTIVE_MAX_HOSTS = 32
"""Pools with more hosts always get the approximation."""

Heuristic = Literal["exhaustive", "approximation"]


@dataclass(frozen=True, slots=True)
class XapiCheck:
    """xapi's verdict on r failures: the heuristic it chose and whether it found plans.

    `breaking_sequence` is, for the exhaustive heuristic, the first failure order (hosts in the
    order they fail) whose last packing left a protected VM out.
    """

    failures: int
    heuristic: Heuristic
    plan_exists: bool
    breaking_sequence: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class _VM:
    index: int  # position in the pool file: the tie-break where xapi uses uuids
    size: int
    group: str | None


@dataclass(frozen=True, slots=True)
class _World:
    """Hosts (by index) as the simulation sees them after some failures."""

    alive: tuple[int, ...]
    free: tuple[int, ...]
    protected: tuple[tuple[_VM, ...], ...]
    groups: tuple[frozenset[str], ...]


def heuristic_for(hosts: int, failures: int) -> Heuristic:
    """The heuristic xapi picks for `failures` out of `hosts` (binpack.ml's choose_heuristic)."""
    if hosts > EXHAUSTIVE_MAX_HOSTS:
        return "approximation"
    orderings = comb(hosts, failures) * factorial(failures)
    return "exhaustive" if orderings < EXHAUSTIVE_BELOW else "approximation"


def plan_exists_for(pool: Pool, failures: int, *, heuristic: Heuristic | None = None) -> XapiCheck:
    """Whether xapi's planner finds restart plans for any `failures` hosts failing, with the
    heuristic xapi would choose (or the one given, to compare the two)."""
    if not 0 <= failures < len(pool.hosts):
        raise ValueError(f"failures must be between 0 and {len(pool.hosts) - 1}, not {failures}")
    world = _initial(pool)
    if heuristic is None:
        heuristic = heuristic_for(len(pool.hosts), failures)
    if heuristic == "approximation":
        return XapiCheck(failures, heuristic, _approximation_holds(world, failures))
    broken = _first_breaking_sequence(world, failures, ())
    names = pool.host_names
    return XapiCheck(
        failures,
        heuristic,
        broken is None,
        None if broken is None else tuple(names[h] for h in broken),
    )


def xapi_max_failures(pool: Pool) -> FailureCapacity:
    """Max host failures to tolerate as XenServer computes it: proven, but possibly low."""
    low, high = 0, len(pool.hosts) - 1
    while low < high:
        mid = (low + high + 1) // 2
        if plan_exists_for(pool, mid).plan_exists:
            low = mid
        else:
            high = mid - 1
    top = len(pool.hosts) - 1
    return FailureCapacity(
        pool=pool.name,
        max_host_failures_to_tolerate=low,
        upper_bound=top,
        exact=low == top,
        host_failures_to_tolerate=pool.ha.host_failures_to_tolerate,
        worst_failure_set=None,
        method="xapi",
    )


def _initial(pool: Pool) -> _World:
    index = {name: i for i, name in enumerate(pool.host_names)}
    protected: list[list[_VM]] = [[] for _ in pool.hosts]
    groups: list[set[str]] = [set() for _ in pool.hosts]
    used = [h.reserved_mib for h in pool.hosts]
    for i, vm in enumerate(pool.vms):
        if vm.host is None:
            continue
        h = index[vm.host]
        used[h] += vm.footprint
        if vm.anti_affinity is not None:
            groups[h].add(vm.anti_affinity)
        if vm.protected:
            protected[h].append(_VM(i, vm.footprint, vm.anti_affinity))
    return _World(
        alive=tuple(range(len(pool.hosts))),
        free=tuple(h.memory_mib - u for h, u in zip(pool.hosts, used, strict=True)),
        protected=tuple(tuple(p) for p in protected),
        groups=tuple(frozenset(g) for g in groups),
    )


def _first_breaking_sequence(
    world: _World, failures: int, prefix: tuple[int, ...]
) -> tuple[int, ...] | None:
    """Depth-first over every ordered sequence of `failures` distinct hosts: sequences sharing a
    prefix share its simulation. None when every sequence can be packed."""
    if len(prefix) == failures:
        return None
    for host in world.alive:
        sequence = (*prefix, host)
        after = _fail(world, host)
        if after is None:
            return sequence
        broken = _first_breaking_sequence(after, failures, sequence)
        if broken is not None:
            return broken
    return None


def _fail(world: _World, dead: int) -> _World | None:
    """The world once `dead` failed and its protected VMs were packed biggest-fit decreasing,
    or None when one of them fits nowhere."""
    alive = tuple(h for h in world.alive if h != dead)
    free = list(world.free)
    protected = list(world.protected)
    groups = list(world.groups)
    # Bins biggest first, pool order on ties; a bin that took a VM goes back in before the
    # bins with as much free memory or less, as xapi's sorted insert does.
    bins = sorted(alive, key=lambda h: -free[h])
    for vm in sorted(world.protected[dead], key=lambda v: (-v.size, v.index)):
        at = next((k for k, h in enumerate(bins) if vm.group not in groups[h]), None)
        if at is None or free[bins[at]] < vm.size:
            return None
        host = bins.pop(at)
        free[host] -= vm.size
        protected[host] = (*protected[host], vm)
        if vm.group is not None:
            groups[host] = groups[host] | {vm.group}
        k = next((k for k, h in enumerate(bins) if free[h] <= free[host]), len(bins))
        bins.insert(k, host)
    protected[dead] = ()
    return _World(alive, tuple(free), tuple(protected), tuple(groups))


def _approximation_holds(world: _World, failures: int) -> bool:
    """xapi's conservative single check: the biggest hosts fail, carrying the most VMs, and
    every VM is as large as the largest protected VM."""
    every = [vm for vms in world.protected for vm in vms]
    if not every or failures == 0:
        return True
    largest = max(vm.size for vm in every)
    slots = sorted((world.free[h] // largest for h in world.alive), reverse=True)
    moving = sorted((len(world.protected[h]) for h in world.alive), reverse=True)
    if sum(moving[:failures]) > sum(slots[failures:]):
        return False
    if all(vm.group is None for vm in every):
        return True
    # haplan's addition for anti-affinity: give each grouped VM that may have to move a host of
    # its own among those running no grouped VM at all (the r failing hosts may be such hosts).
    grouped = sorted(
        (sum(vm.group is not None for vm in world.protected[h]) for h in world.alive),
        reverse=True,
    )
    clean = sum(1 for h in world.alive if world.free[h] >= largest and not world.groups[h])
    return sum(grouped[:failures]) <= clean - failures
