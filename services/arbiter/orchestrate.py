"""Restart orchestration: which waiting VMs get a start order now, and where (pure).

Where: the planner's restart placement (services.planner.restart.place_items) of every VM
waiting for a host onto the liveset members that are not in maintenance, with what runs or is
ordered on them counted: the most protected VMs first, then best-effort ones, then restart
order; the same input gives the same plan. VMs the plan leaves out are recorded unplaceable
with the planner's reason and wait for capacity.

When: one `order` group at a time, as XenServer does. The lowest group of the plan is ordered;
the next group goes once every start of this one is reported (or failed, or after T, so that a
host slow to report cannot hold the pool hostage), plus the longest `start_delay_s` of the
group's VMs; a VM still starting when the group closes after T holds the next group for its
delay from then, and again from its start when that is reported before the next group goes.
The plan is made again for each group, so a VM that failed, a host that died or one that
joined in between is taken into account.

Retries: a VM that failed (stopped without an admin shutdown, or did not start) waits a
backoff that doubles per try (the first restart goes at once; capped at 4 T), then is started
again on the host it failed on when that host is a healthy liveset member with room (up to
its max_restart tries; none after its disk was lost there), else where the plan puts it (up
to max_relocate tries); best-effort
VMs get one try (services.arbiter.view.VmRecord). Past its limits the VM is `failed`
(VmFailed) until an operator starts it.

In flight: at most `max_in_flight` VMs are ordered and not yet reported at any time, so that
the loss of a large host (or many) does not start thousands of VMs at once on the survivors:
the group is cut, most protected first, then restart order, and the rest follows as starts
are reported.

All of this is volatile: a new leader starts with no group in flight (its T_dead of silence
covers any delay in progress).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from schemas.limits import DEFAULT_MAX_IN_FLIGHT
from services.arbiter.view import (
    LivenessView,
    RestartOrdered,
    VmFailed,
    VmRecord,
    VmUnplaceable,
)
from services.common.timers import Timers
from services.planner.placement import Bin, Item, fits
from services.planner.restart import left_out_reason, place_items, vm_item

NEVER = float("-inf")
# Deterministic seconds the placement may spend in one tick: it runs on the arbiter's event
# loop, and greedy packings settle nearly every real case long before this.
PLACEMENT_WORK_LIMIT = 0.5
# The longest backoff between two tries, in T.
BACKOFF_CAP_T = 4.0

Decided = RestartOrdered | VmUnplaceable | VmFailed


@dataclass(frozen=True, slots=True)
class Group:
    """An order group in flight: its `order` value, its VMs and when they were ordered."""

    order: int
    vms: frozenset[str]
    ordered_at: float


@dataclass
class Orchestrator:
    timers: Timers
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    group: Group | None = None
    next_group_at: float = NEVER
    retry_at: dict[str, float] = field(default_factory=dict)
    # VMs of the last group still ordered when it closed after T, with their start delays.
    late: dict[str, float] = field(default_factory=dict)
    # The last placement that ordered nothing: made again only when its input changes, as
    # VMs waiting for capacity would otherwise be re-planned every interval.
    _idle: tuple[object, ...] | None = None

    def failed(self, vm: VmRecord, now: float) -> None:
        """`vm` failed to start or stopped (its view already counts it): back off, doubling
        per try of this failure (the first try goes at once)."""
        tries = max(vm.attempts, vm.restarts + vm.relocations)
        if tries == 0:
            self.retry_at.pop(vm.name, None)
            return
        backoff = self.timers.interval_s * 2 ** (tries - 1)
        self.retry_at[vm.name] = now + min(backoff, BACKOFF_CAP_T * self.timers.timeout_s)

    def place(
        self,
        view: LivenessView,
        members: Sequence[str],
        now: float,
        only: Collection[str] | None = None,
    ) -> list[Decided]:
        """The decisions of this tick; `members` are the liveset (services.arbiter.core);
        `only`, when given, limits the VMs considered (HA off: only VMs being moved)."""
        out: list[Decided] = []
        for vm in waiting(view):
            reason = _given_up(view, vm)
            if reason is not None and (only is None or vm.name in only):
                out.append(VmFailed(vm.name, reason))
                self.retry_at.pop(vm.name, None)
        if not self._group_done(view, now):
            return out
        self._late_reports(view, now)
        if now < self.next_group_at:
            return out
        # Checked before any placement work: with the in-flight budget spent, no VM can be
        # ordered this tick, and a placement made now would be thrown away (orders that never
        # report keep it spent, tick after tick).
        budget = self.max_in_flight - sum(1 for v in view.vms.values() if v.state == "ordered")
        if budget <= 0:
            return out
        todo = [
            v
            for v in waiting(view)
            if self.retry_at.get(v.name, NEVER) <= now
            and (only is None or v.name in only)
            and _given_up(view, v) is None
        ]
        if not todo:
            return out
        targets = [h for h in members if not view.hosts[h].excluded]
        bins = {h: host_bin(view, h) for h in targets}
        in_place = _in_place(todo, bins)
        todo = [v for v in todo if v.name not in in_place and v.may_relocate()]
        items = [vm_item(v.spec) for v in todo]
        key = (tuple((v.name, v.state, v.spec) for v in todo), tuple(bins.values()))
        if key == self._idle and not in_place and not out:
            return []
        planned, _ = place_items(items, list(bins.values()), PLACEMENT_WORK_LIMIT)
        assignment = tuple(_off_lost_storage(todo, items, bins, planned))
        names = list(bins)
        placed = [(todo[i], names[j]) for i, j in enumerate(assignment) if j is not None]
        placed += [(view.vms[vm], host) for vm, host in in_place.items()]
        first = min((vm.order for vm, _ in placed), default=0)
        group_now = sorted(
            ((vm, host) for vm, host in placed if vm.order == first),
            key=lambda p: (not p[0].protected, p[0].name),
        )[:budget]
        if group_now:
            issued = view.orders_issued
            group = []
            for vm, host in group_now:
                inc = view.hosts[host].incarnation
                assert inc is not None  # liveset members have joined
                issued += 1
                out.append(RestartOrdered(vm.name, host, inc, f"order-{issued}"))
                group.append(vm.name)
                self.retry_at.pop(vm.name, None)
            self.group = Group(first, frozenset(group), now)
            self.late.clear()  # the next group is on its way: late reports hold nothing
        later = len(group_now) < len(placed)
        for i, j in enumerate(assignment):
            # Left out only once no later group holds room in the plan: until then the room
            # it lacks is taken by VMs not yet ordered, which no one else can see.
            if j is None and not later and todo[i].state != "unplaceable":
                reason = left_out_reason(items[i], list(bins.values()), assignment, items)
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
        # A VM still ordered after T is starting on a host slow to report (a loaded machine):
        # the next group waits its start delay too, from now and again from its report.
        self.late = {v.spec.name: v.spec.start_delay_s for v in states if v.state == "ordered"}
        self.next_group_at = max([self.next_group_at, *(now + d for d in self.late.values())])
        self.group = None
        return True

    def _late_reports(self, view: LivenessView, now: float) -> None:
        """A VM of the last group reported running only after the group closed: the next
        group, not ordered yet, waits its start delay from now, as for a start reported in
        time. A VM that failed or vanished meanwhile needs no time to boot."""
        for name, delay in list(self.late.items()):
            vm = view.vms.get(name)
            if vm is not None and vm.state == "ordered":
                continue
            del self.late[name]
            if vm is not None and vm.state == "running":
                self.next_group_at = max(self.next_group_at, now + delay)


def _given_up(view: LivenessView, vm: VmRecord) -> str | None:
    """Why HA gives up on `vm` now, or None: it may be tried neither elsewhere nor in place
    (a VM with tries left on its `last_host` waits while that host is not dead)."""
    host = view.hosts.get(vm.last_host or "")
    if vm.may_relocate() or (vm.may_restart_in_place() and host is not None and not host.dead):
        return None
    spec = vm.spec
    return (
        f"it failed {vm.restarts + vm.relocations + 1} times in a row, last on {vm.last_host}: "
        f"restarts {vm.restarts}/{spec.max_restart}, relocations {vm.relocations}/"
        f"{spec.max_relocate}; `haplan vm start {vm.name}` tries again"
    )


def _off_lost_storage(
    todo: Sequence[VmRecord],
    items: Sequence[Item],
    bins: dict[str, Bin],
    assignment: Sequence[int | None],
) -> list[int | None]:
    """`assignment` with every VM whose disk was lost on its last host placed elsewhere: the
    plan does not know where a VM failed, so those it put back there are placed again, on the
    other hosts, in what the rest of the plan leaves (or left out this tick)."""
    names = list(bins)
    out = list(assignment)
    back = [
        i
        for i, j in enumerate(out)
        if j is not None and todo[i].storage_lost and names[j] == todo[i].last_host
    ]
    if not back:
        return out
    for i in back:
        out[i] = None
    left = list(bins.values())
    for i, j in enumerate(out):
        if j is not None:
            left[j] = _taken(left[j], items[i])
    for host in sorted({todo[i].last_host or "" for i in back}):
        again = [i for i in back if todo[i].last_host == host]
        others = [k for k, name in enumerate(names) if name != host]
        placed, _ = place_items(
            [items[i] for i in again], [left[k] for k in others], PLACEMENT_WORK_LIMIT
        )
        for i, s in zip(again, placed, strict=True):
            if s is not None:
                out[i] = others[s]
                left[others[s]] = _taken(left[others[s]], items[i])
    return out


def _taken(b: Bin, item: Item) -> Bin:
    """`b` once `item` is placed on it."""
    groups = b.groups | ({item.group} if item.group is not None else set())
    return Bin(b.name, b.free - item.size, frozenset(groups))


def _in_place(todo: Sequence[VmRecord], bins: dict[str, Bin]) -> dict[str, str]:
    """VMs started again on the healthy host they failed on, where they still fit: the room
    they left is usually still there. Updates `bins` with what they take."""
    chosen: dict[str, str] = {}
    for vm in todo:
        host = vm.last_host
        if host is None or host not in bins or not vm.may_restart_in_place():
            continue
        item = vm_item(vm.spec)
        b = bins[host]
        if fits(item, b.free, b.groups):
            bins[host] = _taken(b, item)
            chosen[vm.name] = host
    return chosen


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
