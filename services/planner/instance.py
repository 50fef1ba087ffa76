"""The pool as the capacity search sees it: hosts by index, each with its free memory, the
protected VMs that would need a new home if it failed, and the anti-affinity groups already
running on it. Identical hosts are grouped into classes so the search can treat them as one.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas import Pool

Vm = tuple[int, str | None]
"""A protected VM as the search sees it: footprint in MiB and anti-affinity group."""


@dataclass(frozen=True, slots=True)
class HostClass:
    """Hosts that are interchangeable for failure planning: same free memory, same multiset of
    protected VMs (footprint, group), same groups already running. Any failure set can swap a
    member for another without changing its feasibility, so the search counts members."""

    hosts: tuple[int, ...]

    @property
    def size(self) -> int:
        return len(self.hosts)


@dataclass(frozen=True, slots=True)
class Instance:
    names: tuple[str, ...]
    free: tuple[int, ...]
    vms: tuple[tuple[Vm, ...], ...]
    """Per host, its protected running VMs, largest first."""
    groups: tuple[frozenset[str], ...]
    """Per host, the anti-affinity groups of every VM running on it (any priority)."""
    classes: tuple[HostClass, ...]

    @property
    def n(self) -> int:
        return len(self.names)

    @property
    def load(self) -> tuple[int, ...]:
        """Per host, the memory its protected VMs need elsewhere if it fails."""
        return tuple(sum(size for size, _ in vms) for vms in self.vms)

    @property
    def grouped(self) -> bool:
        """Whether anti-affinity can matter: some protected VM belongs to a group."""
        return any(group is not None for vms in self.vms for _, group in vms)

    def key(self, h: int) -> tuple[object, ...]:
        return (self.free[h], self.vms[h], tuple(sorted(self.groups[h])))


def instance(pool: Pool) -> Instance:
    names = pool.host_names
    free = tuple(pool.free_mib(h) for h in names)
    vms = tuple(
        tuple(
            sorted(
                ((v.footprint, v.anti_affinity) for v in pool.vms_on(h) if v.protected),
                key=lambda vm: (-vm[0], vm[1] or ""),
            )
        )
        for h in names
    )
    groups = tuple(
        frozenset(v.anti_affinity for v in pool.vms_on(h) if v.anti_affinity is not None)
        for h in names
    )
    by_key: dict[tuple[object, ...], list[int]] = {}
    for h in range(len(names)):
        by_key.setdefault((free[h], vms[h], tuple(sorted(groups[h]))), []).append(h)
    classes = tuple(HostClass(tuple(members)) for members in by_key.values())
    return Instance(names, free, vms, groups, classes)
