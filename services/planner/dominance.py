"""Dominance between hosts: failing one is at least as bad as failing another.

Host a dominates host b when
- a has at least as much free memory as b,
- every anti-affinity group running on a also runs on b, and
- b's protected VMs can be matched one to one to protected VMs of a at least as large, each
  grouped VM of b to a VM of a of the same group.
Then for any F0 without a or b: if F0 + a is feasible, so is F0 + b. Take a packing for F0 + a;
for F0 + b, host a survives instead of b: give it what the packing put on b (a has at least
that room, and no group b lacks), and put each VM of b where its match from a was (at least
that much room; same group, so no new conflict). VMs of a without a match are not needed.

So to prove every failure set of size k feasible it is enough to check the sets that are
closed under dominance (with b in the set, every host dominating b is too): swapping a
dominated host for a dominating one outside the set only makes it worse, until it is closed.
An infeasible set, if any exists, therefore has a closed infeasible counterpart of the same
size, so refutations are still found. Identical hosts dominate each other; they are handled as
symmetry classes, so only dominance between different classes is used here.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.planner.instance import Instance, Vm
from services.planner.profile import Profile, profile


def dominates(inst: Instance, a: int, b: int) -> bool:
    """Whether failing host a is at least as bad as failing host b (module docstring)."""
    if inst.free[a] < inst.free[b] or not inst.groups[a] <= inst.groups[b]:
        return False
    return _matches(inst.vms[b], inst.vms[a])


def _matches(smaller: tuple[Vm, ...], larger: tuple[Vm, ...]) -> bool:
    """Whether each VM of `smaller` has its own VM in `larger` at least as big, grouped VMs
    matched within their group. Grouped VMs go first, each (smallest first) taking the smallest
    VM of its group that is big enough, which leaves the largest VMs for the ungrouped ones;
    those are then matched largest to largest. A match found is a real one; missing one only
    means no dominance is used."""
    left = sorted(larger, key=lambda vm: vm[0])
    for size, group in sorted((vm for vm in smaller if vm[1] is not None), key=lambda vm: vm[0]):
        pick = next((vm for vm in left if vm[1] == group and vm[0] >= size), None)
        if pick is None:
            return False
        left.remove(pick)
    need = sorted((s for s, g in smaller if g is None), reverse=True)
    have = sorted((s for s, _ in left), reverse=True)
    return len(have) >= len(need) and all(n <= h for n, h in zip(need, have, strict=False))


@dataclass(frozen=True, slots=True)
class Plan:
    """What every size's search shares: the class order and the dominance between classes."""

    inst: Instance
    prof: Profile
    members: tuple[tuple[int, ...], ...]
    """The hosts of each class, classes heaviest first (protected load + free memory)."""
    above: tuple[tuple[int, ...], ...]
    """Per class, the classes that dominate it (dominance.py)."""
    below: tuple[tuple[int, ...], ...]
    """Per class, the classes it dominates."""


def plan_search(inst: Instance) -> Plan:
    order = sorted(
        inst.classes,
        key=lambda c: (-(inst.load[c.hosts[0]] + inst.free[c.hosts[0]]), c.hosts[0]),
    )
    heads = [c.hosts[0] for c in order]
    count = len(heads)
    above = tuple(
        tuple(a for a in range(count) if a != b and dominates(inst, heads[a], heads[b]))
        for b in range(count)
    )
    below = tuple(tuple(b for b in range(count) if a in above[b]) for a in range(count))
    return Plan(inst, profile(inst), tuple(c.hosts for c in order), above, below)
