"""Restart orchestration: which waiting VMs get a start order now, and where (pure).

Where: the planner's restart placement (services.planner.restart.place_items) of every VM
waiting for a host onto the liveset members that are not in maintenance, with what runs or is
ordered on them counted: the most protected VMs first, then best-effort ones, then restart
order; the same input gives the same plan. VMs the plan leaves out are recorded unplaceable
with the planner's reason and wait for capacity.

When: one `order` group at a time, as XenServer does. The lowest group of the plan is ordered;
the next group goes once every start of this one is reported (or failed, or after T, so that a
host slow to report cannot hold the pool hostage), plus the longest `start_delay_s` of the
group. The plan is made again for each group, so a VM that failed, a host that died or one that
joined in between is taken into account.

Retries: a failed start sends the VM back to waiting after a backoff that doubles per failure
(capped at T); protected VMs are retried until capacity allows, best-effort ones twice
(services.arbiter.view.BEST_EFFORT_TRIES).

All of this is volatile: a new leader starts with no group in flight (its T_dead of silence
covers any delay in progress).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from services.arbiter.view import LivenessView, RestartOrdered, VmRecord, VmUnplaceable
from services.common.timers import Timers
from services.planner.placement import Bin
from services.planner.restart import left_out_reason, place_items, vm_item

NEVER = float("-inf")
# Deterministic seconds the placement may spend in one tick: it runs on the arbiter's event
# loop, and greedy packings settle nearly every real case long before this.
PLACEMENT_WORK_LIMIT = 0.5

Decided = RestartOrdered | VmUnplaceable


@dataclass(frozen=True, slots=True)
class Group:
    """An order group in flight: its `order` value, its VMs and when they were ordered."""

    order: int
    vms: frozenset[str]
    ordered_at: float


@dataclass
class Orchestrator:
    timers: Timers
    group: Group | None = None
    next_group_at: float = NEVER
    retry_at: dict[str, float] = field(default_factory=dict)
    # The last placement that ordered nothing: made again only when its input changes, as
    # VMs waiting for capacity would otherwise be re-planned every interval.
    _idle: tuple[object, ...] | None = None

    def failed(self, vm: VmRecord, now: float) -> None:
        """`vm` failed to start (its view already counts the attempt): back off."""
        backoff = self.timers.interval_s * 2 ** max(0, vm.attempts - 1)
        self.retry_at[vm.name] = now + min(backoff, self.timers.timeout_s)

    def place(
        self,
        view: LivenessView,
        members: Sequence[str],
        now: float,
        only: Collection[str] | None = None,
    ) -> list[Decided]:
        """The decisions of this tick; `members` are the liveset (services.arbiter.core);
        `only`, when given, limits the VMs considered (HA off: only VMs being moved)."""
        if not self._group_done(view, now) or now < self.next_group_at:
            return []
        todo = [
            v
            for v in waiting(view)
            if self.retry_at.get(v.name, NEVER) <= now and (only is None or v.name in only)
        ]
        if not todo:
            return []
        targets = [h for h in members if not view.hosts[h].excluded]
        bins = [host_bin(view, h) for h in targets]
        items = [vm_item(v.spec) for v in todo]
        key = (tuple((v.name, v.state, v.spec) for v in todo), tuple(bins))
        if key == self._idle:
            return []
        assignment, _ = place_items(items, bins, PLACEMENT_WORK_LIMIT)
        out: list[Decided] = []
        placed = [(todo[i], bins[j].name) for i, j in enumerate(assignment) if j is not None]
        first = min((vm.order for vm, _ in placed), default=0)
        if placed:
            issued = view.orders_issued
            group = []
            for vm, host in placed:
                if vm.order != first:
                    continue
                inc = view.hosts[host].incarnation
                assert inc is not None  # liveset members have joined
                issued += 1
                out.append(RestartOrdered(vm.name, host, inc, f"order-{issued}"))
                group.append(vm.name)
                self.retry_at.pop(vm.name, None)
            self.group = Group(first, frozenset(group), now)
        later = any(vm.order != first for vm, _ in placed) if placed else False
        for i, j in enumerate(assignment):
            # Left out only once no later group holds room in the plan: until then the room
            # it lacks is taken by VMs not yet ordered, which no one else can see.
            if j is None and not later and todo[i].state != "unplaceable":
                reason = left_out_reason(items[i], bins, assignment, items)
                if not targets:
                    reason = "no liveset member can take VMs"
                out.append(VmUnplaceable(todo[i].name, reason))
        self._idle = None if placed else key
        return out

    def _group_done(self, view: LivenessView, now: float) -> bool:
        group = self.group
        if group is None:
            return True
        states = [view.vms[n] for n in group.vms if n in view.vms]
        pending = any(v.state == "ordered" for v in states)
        if pending and now - group.ordered_at < self.timers.timeout_s:
            return False
        started = [v.spec.start_delay_s for v in states if v.state == "running"]
        self.next_group_at = now + max(started, default=0.0)
        self.group = None
        return True


def waiting(view: LivenessView) -> list[VmRecord]:
    """VMs that must start somewhere, in restart order (`order`, then name): HA-managed VMs
    of dead hosts or halted by their guest, and any VM moved off a host in maintenance (the
    view's fold leaves other VMs halted)."""
    pending = [
        v for v in view.vms.values() if v.state in ("restarting", "unplaceable") and v.spec.agile
    ]
    return sorted(pending, key=lambda v: (v.order, v.name))


def host_bin(view: LivenessView, host: str) -> Bin:
    """A liveset member as the planner sees it: free memory and anti-affinity groups taken."""
    on = view.on(host)
    groups = frozenset(v.spec.anti_affinity for v in on if v.spec.anti_affinity is not None)
    return Bin(host, view.hosts[host].capacity_mib - view.used_mib(host), groups)
