"""Seeded pool generators for the planner benchmark (and for tests that want realistic pools).

Not part of the product: importable as `bench.pools` from the repository root.

- `random_pool`: n hosts and m VMs of mixed sizes (1 to 32 GiB, small ones commonest, as in
  real pools), placed at random so that about `load` of the pool's memory is in use, a share
  `protected` of them with ha_restart_priority restart, the rest best-effort or unprotected.
- `perfect_fit_pool`: a family where XenServer's worst-fit packing misses packings that exist.
  Every host's protected VMs are, by construction, an exact fill of the free memory of all the
  other hosts (the concatenation of n-1 random splits of that free memory), so any one host can
  fail; two cannot (there is no room left). Worst fit, which spreads the largest VMs first and
  fills the hosts evenly, typically strands the last VMs in leftovers too small for them.
"""

from __future__ import annotations

import random

from schemas import BEST_EFFORT, RESTART, UNPROTECTED, VM, HAConfig, Host, Pool, Priority

GIB = 1024
VM_SIZES_GIB = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)
VM_SIZE_WEIGHTS = (14, 18, 10, 16, 10, 12, 7, 7, 3, 3)
"""Mixed sizes, small VMs commonest: mean about 7 GiB."""
HOST_RESERVED_MIB = 4 * GIB
LOAD_SPREAD = 0.1
"""Hosts' loads vary by up to this much around the pool's load."""


def overhead_mib(memory_mib: int) -> int:
    """Hypervisor overhead of a VM: about 1% of its memory, at least 16 MiB."""
    return max(16, memory_mib // 100)


def random_pool(
    hosts: int, vms: int, *, load: float, protected: float, seed: int, ntol: int = 1
) -> Pool:
    """A pool with about `load` of its memory used by `vms` running VMs on `hosts` hosts.

    A quarter of the hosts are 1.5 times larger than the others, and each host's load varies
    around `load` by up to LOAD_SPREAD (pools are rarely uniform). Deterministic in `seed`.
    """
    rng = random.Random(seed)
    sizes = [g * GIB for g in rng.choices(VM_SIZES_GIB, VM_SIZE_WEIGHTS, k=vms)]
    footprints = [s + overhead_mib(s) for s in sizes]
    scale = [1.5 if i % 4 == 3 else 1.0 for i in range(hosts)]
    # Reservations count as used memory: the hosts' total is what puts the pool at `load`.
    unit = (sum(footprints) + hosts * HOST_RESERVED_MIB) / load / sum(scale)
    memory = [_round(unit * f, 4 * GIB) for f in scale]
    room = [m - HOST_RESERVED_MIB for m in memory]
    # Each host gets its own target load around the pool's (real pools are never even); VMs go
    # largest first, each to a host drawn in proportion to what it may still take.
    target = [
        m * min(load + rng.uniform(-LOAD_SPREAD, LOAD_SPREAD), 0.97) - HOST_RESERVED_MIB
        for m in memory
    ]
    placed: list[int | None] = [None] * vms
    for i in sorted(range(vms), key=lambda i: -footprints[i]):
        fits = [h for h in range(hosts) if room[h] >= footprints[i]]
        if not fits:
            continue
        weights = [max(target[h], 1.0) for h in fits]
        h = rng.choices(fits, weights)[0]
        placed[i] = h
        room[h] -= footprints[i]
        target[h] -= footprints[i]
    names = [f"host{h:02d}" for h in range(hosts)]
    return Pool(
        name=f"random {hosts}x{vms} load {load:.2f} seed {seed}",
        ha=HAConfig(host_failures_to_tolerate=min(ntol, hosts - 1)),
        hosts=tuple(
            Host(name=names[h], memory_mib=memory[h], reserved_mib=HOST_RESERVED_MIB)
            for h in range(hosts)
        ),
        vms=tuple(
            VM(
                name=f"vm{i:04d}",
                memory_mib=sizes[i],
                memory_overhead_mib=overhead_mib(sizes[i]),
                host=None if placed[i] is None else names[placed[i]],  # type: ignore[index]
                ha_restart_priority=_priority(rng, protected),
                order=rng.randrange(4),
            )
            for i in range(vms)
        ),
    )


VSPHERE_HOSTS = 96
VSPHERE_VMS = 10_000
"""vSphere 8's cluster maxima: 96 hosts, 10,000 VMs (issue 19)."""
LOADS = {"HA-sized": (0.85, 0.7), "light": (0.65, 0.7)}
"""The benchmark's two loads, (memory in use, share of VMs protected): HA-sized leaves room
for few failures, light for many."""


def vsphere_pool(load: str, seed: int, *, vms: int = VSPHERE_VMS) -> Pool:
    """A random pool at vSphere's scale: 96 hosts and 10,000 VMs (20,000 for the stress case)
    at one of the LOADS ("HA-sized" or "light")."""
    used, protected = LOADS[load]
    return random_pool(VSPHERE_HOSTS, vms, load=used, protected=protected, seed=seed)


def perfect_fit_pool(hosts: int, *, seed: int, free_gib: int = 32) -> Pool:
    """The worst-fit trap family: max host failures to tolerate is exactly 1 (see the module
    docstring); XenServer's planner often answers 0."""
    rng = random.Random(seed)
    names = [f"host{h:02d}" for h in range(hosts)]
    vms: list[VM] = []
    memory: list[int] = []
    for h in range(hosts):
        pieces = [p for _ in range(hosts - 1) for p in _split(rng, free_gib)]
        rng.shuffle(pieces)
        for p in pieces:
            vms.append(
                VM(
                    name=f"vm{len(vms):04d}",
                    memory_mib=p * GIB,
                    host=names[h],
                    ha_restart_priority=RESTART,
                    order=rng.randrange(4),
                )
            )
        memory.append(HOST_RESERVED_MIB + (sum(pieces) + free_gib) * GIB)
    return Pool(
        name=f"perfect fit {hosts} hosts seed {seed}",
        ha=HAConfig(host_failures_to_tolerate=1),
        hosts=tuple(
            Host(name=names[h], memory_mib=memory[h], reserved_mib=HOST_RESERVED_MIB)
            for h in range(hosts)
        ),
        vms=tuple(vms),
    )


def _split(rng: random.Random, total: int) -> list[int]:
    """`total` GiB cut into random pieces of 1 to 16 GiB (the last piece takes the rest)."""
    pieces: list[int] = []
    while total > 0:
        piece = min(total, rng.choice((1, 2, 3, 4, 5, 6, 8, 10, 12, 16)))
        pieces.append(piece)
        total -= piece
    return pieces


def _priority(rng: random.Random, protected: float) -> Priority:
    if rng.random() < protected:
        return RESTART
    return BEST_EFFORT if rng.random() < 0.5 else UNPROTECTED


def _round(value: float, step: int) -> int:
    return max(round(value / step), 1) * step
