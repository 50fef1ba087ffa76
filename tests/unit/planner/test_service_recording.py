"""Recording plans (pure core): which events change the capacity picture, when a replica
owes the log a plan, and the events that record one, with the overcommitment alarm raised
and ended; a log recorded this way passes the audit's verify."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.events import (
    EVENT_CLASSES,
    Event,
    EventBase,
    GuardEngaged,
    GuardReleased,
    HADisabled,
    HAEnabled,
    HostKeyTrusted,
    HostRejoined,
    HostSuspected,
    LeaderElected,
    NtolSet,
    OvercommitAllowed,
    PlanComputed,
    PlanRestored,
    PoolCreated,
    PoolOvercommitted,
    VMCreated,
    VMProtectionSet,
    VMShutDownByAdmin,
    VMStartFailed,
    VMUnplaceable,
)
from schemas.pool import VM, Pool
from services.audit import Entry, verify
from services.planner import FailureCapacity, max_failures
from services.planner.service import RELEVANT, PlanView, Stamp, plan_events, relevant
from services.state import PoolState, fold, to_pool
from tests.fixtures.events import LAB_SIGNERS, T0, lab_pool, make, sample_events
from tests.unit.state.test_fold_properties import logs

# Lab pool (ntol 1, tolerates 1): a 27000 MiB VM on lab2 leaves no room there for Minion 1.
BIG = VM(name="Big", memory_mib=27000, host="lab2")


def stamp(epoch: int = 0) -> Stamp:
    return Stamp(T0, epoch, str(uuid.uuid4()), str(uuid.uuid4()))


def capacity(max_ok: int, ntol: int = 1) -> FailureCapacity:
    return FailureCapacity(
        pool="Lab pool", max_host_failures_to_tolerate=max_ok, upper_bound=max_ok, exact=True,
        host_failures_to_tolerate=ntol, worst_failure_set=("lab1", "lab2")[: max_ok + 1],
    )  # fmt: skip


def lab_state(**ha: Any) -> PoolState:
    pool = lab_pool()
    return fold([make(PoolCreated, epoch=0, pool=pool.model_copy(
        update={"ha": pool.ha.model_copy(update=ha)}))])  # fmt: skip


def planned_input(state: PoolState) -> tuple[Any, ...]:
    """What a plan and its alarm depend on: the pool the planner plans (whatever admission
    control allows; a host's signing key is no capacity) and whether HA is on."""
    if not state.exists:
        return ()
    pool = to_pool(state)
    hosts = tuple(h.model_copy(update={"key": None}) for h in pool.hosts)
    return (hosts, pool.vms, pool.ha.host_failures_to_tolerate, pool.ha.enabled)


# -- relevance ------------------------------------------------------------------------------


def test_plans_alarms_and_elections_are_not_relevant() -> None:
    """The planner's own events and the arbiter's elections never ask for a new plan; pool
    changes, ntol, HA on/off, VMs starting and stopping, hosts dying do."""
    by_type = {type(e): relevant(e) for e in sample_events()}  # type: ignore[arg-type]
    assert set(by_type) == set(EVENT_CLASSES.values())  # one sample of every type
    for kind in (PlanComputed, PoolOvercommitted, PlanRestored, LeaderElected, HostRejoined,
                 OvercommitAllowed):  # fmt: skip
        assert by_type[kind] is False, kind
    for kind in (PoolCreated, NtolSet, VMProtectionSet, VMCreated, HAEnabled, HADisabled,
                 VMShutDownByAdmin):  # fmt: skip
        assert by_type[kind] is True, kind


# With the liveness and lifecycle events of `logs`, one of every type `relevant` rejects.
IRRELEVANT_EXTRA = [
    make(HostRejoined, host="h1", incarnation="b1"),
    make(HostKeyTrusted, host="h1", key=LAB_SIGNERS["lab2"].public),
    make(OvercommitAllowed, allowed=True),
    make(LeaderElected, epoch=5, arbiter="a"),
    make(PlanComputed, based_on_seq=1, max_host_failures_to_tolerate=0, upper_bound=0,
         exact=True, worst_failure_set=("h1",), host_failures_to_tolerate=1),
    make(PoolOvercommitted, plan="p", max_host_failures_to_tolerate=0,
         host_failures_to_tolerate=1),
    make(PlanRestored, plan="p", max_host_failures_to_tolerate=1, host_failures_to_tolerate=1),
    # The mass-suspicion guard holds declarations; only the declarations change the plan.
    *(e for e in sample_events() if isinstance(e, GuardEngaged | GuardReleased)),
]  # fmt: skip
FROM_LOGS = {HostSuspected, VMStartFailed, VMUnplaceable}
extra_irrelevant = st.sampled_from(IRRELEVANT_EXTRA)


def test_the_property_below_draws_every_irrelevant_type() -> None:
    """The random logs of the next test hold every event type `relevant` rejects."""
    drawn = {type(e) for e in IRRELEVANT_EXTRA} | FROM_LOGS
    assert drawn == set(EVENT_CLASSES.values()) - RELEVANT


@settings(max_examples=150, deadline=None)
@given(logs, st.lists(st.tuples(st.integers(0, 40), extra_irrelevant), max_size=5))
def test_an_irrelevant_event_never_changes_what_a_plan_depends_on(
    log: list[EventBase], extra: list[tuple[int, EventBase]]
) -> None:
    """Over random logs (liveness decisions, VM lifecycle, impossible orders included), an
    event `relevant` rejects leaves the planned pool and HA's state as they were: skipping
    it can never leave the log's plan stale."""
    events = list(log)
    for at, event in extra:
        events.insert(min(max(at, 1), len(events)), event)
    state = PoolState()
    for event in events:
        after = fold([event], state)  # type: ignore[list-item]
        if not relevant(event):  # type: ignore[arg-type]
            assert planned_input(after) == planned_input(state), event.type
        state = after


def test_the_relevant_set_names_only_event_types() -> None:
    """RELEVANT holds event classes of the union (a typo would silently never match)."""
    assert set(RELEVANT) <= set(EVENT_CLASSES.values())


# -- the view -------------------------------------------------------------------------------


def test_a_plan_is_due_after_a_relevant_event_and_not_after_its_plan() -> None:
    """A pool in the log is due for a plan; a plan based on the last relevant event settles
    it; an irrelevant event after it does not; a relevant one does again."""
    view = PlanView()
    assert not view.due  # no pool, nothing to plan
    view.apply(1, make(PoolCreated, epoch=0, pool=lab_pool()))
    assert view.due
    view.apply(2, plan_events(view.state, capacity(1), 1, stamp())[0])
    assert not view.due
    view.apply(3, make(LeaderElected, epoch=4, arbiter="a"))
    assert not view.due
    view.apply(4, make(NtolSet, epoch=4, host_failures_to_tolerate=0))
    assert view.due
    assert (view.last_seq, view.last_relevant_seq, view.newest_epoch) == (4, 4, 4)


def test_a_relevant_event_the_fold_ignores_asks_for_nothing() -> None:
    """An event about an unknown VM changes nothing, so it makes no plan due."""
    view = PlanView()
    view.apply(1, make(PoolCreated, epoch=0, pool=lab_pool()))
    view.apply(2, plan_events(view.state, capacity(1), 1, stamp())[0])
    view.apply(3, make(VMShutDownByAdmin, vm="ghost"))
    assert not view.due
    assert view.last_seq == 3


def test_a_plan_based_on_an_older_state_does_not_settle_a_newer_change() -> None:
    """A plan computed before the last relevant event leaves the plan due."""
    view = PlanView()
    view.apply(1, make(PoolCreated, epoch=0, pool=lab_pool()))
    view.apply(2, make(NtolSet, host_failures_to_tolerate=0))
    view.apply(3, plan_events(view.state, capacity(1), 1, stamp())[0])
    assert view.due


def test_the_live_pool_is_the_projection_or_why_there_is_none() -> None:
    """`live()` is `to_pool` of the state (the same object while the state is unchanged),
    or the projection's error while the log holds no pool."""
    view = PlanView()
    missing = view.live()
    assert isinstance(missing, Exception) and "holds no pool" in str(missing)
    view.apply(1, make(PoolCreated, epoch=0, pool=lab_pool()))
    live = view.live()
    assert live == lab_pool()
    assert view.live() is live


def test_skip_to_moves_past_unreadable_messages_only_forward() -> None:
    """Unreadable messages advance the view's sequence, never back."""
    view = PlanView()
    view.skip_to(7)
    view.skip_to(3)
    assert view.last_seq == 7


# -- plan events ----------------------------------------------------------------------------


def test_a_plan_that_meets_ntol_is_recorded_alone() -> None:
    """Tolerating ntol failures: plan_computed with the capacity's numbers, no alarm."""
    s = stamp(epoch=6)
    [plan] = plan_events(lab_state(), capacity(1), 9, s)
    assert isinstance(plan, PlanComputed)
    assert (plan.event_id, plan.at, plan.epoch, plan.based_on_seq) == (s.plan_id, T0, 6, 9)
    assert (plan.max_host_failures_to_tolerate, plan.upper_bound, plan.exact) == (1, 1, True)
    assert plan.worst_failure_set == ("lab1", "lab2")
    assert plan.host_failures_to_tolerate == 1


def test_falling_below_ntol_with_ha_on_raises_the_alarm_once() -> None:
    """Below ntol with HA enabled: pool_overcommitted citing the plan; already overcommitted:
    no second alarm."""
    s = stamp(epoch=2)
    plan, alarm = plan_events(lab_state(), capacity(0), 1, s)
    assert isinstance(alarm, PoolOvercommitted)
    assert alarm.plan == plan.event_id == s.plan_id
    assert alarm.event_id == s.alarm_id
    assert (alarm.max_host_failures_to_tolerate, alarm.host_failures_to_tolerate) == (0, 1)
    assert alarm.epoch == 2
    raised = fold([plan, alarm], lab_state())
    assert raised.overcommitted
    assert len(plan_events(raised, capacity(0), 3, stamp())) == 1


def test_a_pool_with_ha_off_raises_no_alarm() -> None:
    """HA disabled promises nothing: below ntol, only the plan is recorded."""
    assert len(plan_events(lab_state(enabled=False), capacity(0), 1, stamp())) == 1


def test_meeting_ntol_again_ends_the_alarm_even_with_ha_off() -> None:
    """An overcommitted pool whose plan meets ntol again gets plan_restored (HA on or off);
    one still below ntol stays overcommitted without a new event."""
    state = fold([make(PoolOvercommitted, plan="p", max_host_failures_to_tolerate=0,
                       host_failures_to_tolerate=1)], lab_state())  # fmt: skip
    assert state.overcommitted
    plan, restored = plan_events(state, capacity(1), 2, stamp())
    assert isinstance(restored, PlanRestored)
    assert restored.plan == plan.event_id
    assert (restored.max_host_failures_to_tolerate, restored.host_failures_to_tolerate) == (1, 1)
    off = fold([make(HADisabled)], state)
    assert [type(e) for e in plan_events(off, capacity(1), 3, stamp())] == [
        PlanComputed,
        PlanRestored,
    ]
    assert len(plan_events(off, capacity(0), 3, stamp())) == 1


# -- what the audit makes of it ---------------------------------------------------------------


def record_like_a_replica(changes: list[Event]) -> list[Entry]:
    """The log a replica leaves: after each change, if a plan is due, the planner's answer on
    the live pool recorded with `plan_events`, based on the sequence it saw."""
    entries: list[Entry] = []
    view = PlanView()

    def append(event: Event) -> None:
        entries.append(Entry(len(entries) + 1, event))
        view.apply(len(entries), event)

    for change in changes:
        append(change)
        if view.due:
            live = view.live()
            assert isinstance(live, Pool)
            stamped = stamp(epoch=view.newest_epoch)
            for event in plan_events(view.state, max_failures(live), view.last_seq, stamped):
                append(event)
    return entries


def overcommit_and_restore() -> list[Event]:
    return [
        make(PoolCreated, epoch=0, pool=lab_pool()),
        make(VMCreated, epoch=0, spec=BIG),  # no room left on lab2: overcommitted
        make(NtolSet, epoch=0, host_failures_to_tolerate=0),  # restored
        make(NtolSet, epoch=0, host_failures_to_tolerate=1),  # overcommitted again
        make(LeaderElected, epoch=3, arbiter="a"),
        make(VMShutDownByAdmin, epoch=3, vm="Big"),  # room again: restored
    ]


def test_a_recorded_log_passes_verify_through_each_transition() -> None:
    """Plans and alarms recorded the replica's way over overcommit, restore, overcommit and
    restore are every one confirmed by the audit's verify."""
    entries = record_like_a_replica(overcommit_and_restore())
    kinds = [e.event.type for e in entries if e.event.type != "plan_computed"]
    assert kinds == [
        "pool_created", "vm_created", "pool_overcommitted", "ntol_set", "plan_restored",
        "ntol_set", "pool_overcommitted", "leader_elected", "vm_shut_down_by_admin",
        "plan_restored",
    ]  # fmt: skip
    assert sum(e.event.type == "plan_computed" for e in entries) == 5
    report = verify(entries)
    assert report.differences == []
    assert report.checked["plan_computed"] == 5
    assert report.checked["pool_overcommitted"] == report.checked["plan_restored"] == 2
    # Stamped with the newest epoch in the log, never one of their own.
    assert [e.event.epoch for e in entries if e.event.type == "plan_computed"] == [0] * 4 + [3]


def test_verify_would_catch_a_plan_that_is_not_the_planners() -> None:
    """The check above can fail: the same log with one plan claiming a tolerance the pool
    does not have is reported."""
    entries = record_like_a_replica(overcommit_and_restore())
    seq, plan = next((e.seq, e.event) for e in entries if isinstance(e.event, PlanComputed))
    forged = plan.model_copy(update={"max_host_failures_to_tolerate": 0, "upper_bound": 0,
                                     "worst_failure_set": ("lab1",)})  # fmt: skip
    entries[seq - 1] = Entry(seq, forged)
    assert {f.seq for f in verify(entries).differences} == {seq}
