"""The pure fold: what each event does to the pool state."""

from __future__ import annotations

from schemas.events import (
    EVENT_TYPES,
    HADisabled,
    HAEnabled,
    HostAdded,
    HostDeclaredDead,
    HostExcluded,
    HostFenced,
    HostJoined,
    HostRejoined,
    HostRemoved,
    HostSuspected,
    NtolSet,
    PlanComputed,
    PlanRestored,
    PoolCreated,
    PoolOvercommitted,
    VMCreated,
    VMHaltedByGuest,
    VMProtectionSet,
    VMRestartOrdered,
    VMShutDownByAdmin,
    VMStarted,
    VMStartFailed,
    VMUnplaceable,
)
from schemas.liveness import FencedMark, SuspectEvidence
from schemas.pool import VM, Host
from services.state import HANDLERS, PoolState, RestartOrder, apply, fold
from tests.fixtures.events import dead_evidence, lab_pool, make, rich_pool, sample_events


def created(pool=None) -> PoolState:  # type: ignore[no-untyped-def]
    return apply(PoolState(), make(PoolCreated, epoch=0, pool=pool or rich_pool()))


def joined(state: PoolState, *hosts: str) -> PoolState:
    return fold([make(HostJoined, host=h, incarnation=f"boot-{h}") for h in hosts], state)


def test_every_event_type_has_exactly_one_handler() -> None:
    """The fold's table holds every type of the union and nothing else."""
    assert set(HANDLERS) == set(EVENT_TYPES)


def test_samples_fold_without_ignoring_any_event() -> None:
    """A log using every event type in a sensible order is folded entirely."""
    events = sample_events()
    state = fold(events)  # type: ignore[arg-type]
    assert state.applied == len(events)
    assert state.ignored == 0


def test_apply_never_changes_the_state_it_is_given() -> None:
    """States are values: folding more events leaves earlier states as they were."""
    before = joined(created(), "h1")
    snapshot = (dict(before.hosts), dict(before.vms), before.applied)
    after = apply(before, make(HostDeclaredDead, host="h1", evidence=dead_evidence("boot-h1")))
    assert after is not before
    assert (dict(before.hosts), dict(before.vms), before.applied) == snapshot
    assert before.hosts["h1"].liveness == "live"


def test_pool_created_sets_up_hosts_joining_and_vms_where_they_run() -> None:
    """A new pool: every host is joining (not yet in the liveset), VMs with a host run."""
    state = created()
    assert state.name == "Rack 7" and state.exists
    assert state.origin == rich_pool()
    assert state.ha == rich_pool().ha
    assert list(state.hosts) == ["h1", "h2.rack7", "h 3"]
    assert {h.liveness for h in state.hosts.values()} == {"joining"}
    assert state.liveset == ()
    assert state.vms["Web 1"].host == "h1"
    assert state.vms["Web 1"].power_state == "running"
    assert state.vms["spare"].power_state == "halted"
    assert state.vms["spare"].host is None


def test_a_second_pool_created_is_ignored() -> None:
    """Only the first PoolCreated defines the pool; a later one is counted as ignored."""
    state = apply(created(), make(PoolCreated, epoch=0, pool=lab_pool()))
    assert state.name == "Rack 7"
    assert state.ignored == 1


def test_events_before_the_pool_exists_are_ignored_and_counted() -> None:
    """Configuration or liveness events with no pool yet change nothing but `ignored`."""
    events = [
        make(NtolSet, host_failures_to_tolerate=1),
        make(HostJoined, host="lab1", incarnation="b"),
        make(VMShutDownByAdmin, vm="Minion 1"),
        make(HostAdded, spec=Host(name="x", memory_mib=1)),
        make(HAEnabled),
        make(HADisabled),
        make(PoolOvercommitted, plan="p", max_host_failures_to_tolerate=0,
             host_failures_to_tolerate=1),
    ]  # fmt: skip
    state = fold(events)  # type: ignore[arg-type]
    assert not state.exists
    assert (state.applied, state.ignored) == (len(events), len(events))


def test_joined_hosts_form_the_liveset_in_pool_order() -> None:
    """HostJoined makes a host live with its incarnation; the liveset keeps pool order."""
    state = joined(created(), "h 3", "h1")
    assert state.liveset == ("h1", "h 3")
    assert state.hosts["h1"].incarnation == "boot-h1"


def test_suspected_host_leaves_the_liveset_until_it_rejoins() -> None:
    """A suspected host stays live but takes no VMs; HostRejoined restores it."""
    state = joined(created(), "h1", "h2.rack7")
    evidence = SuspectEvidence(incarnation="boot-h1", lease_silent_for_s=6, timeout_s=5)
    state = apply(state, make(HostSuspected, host="h1", evidence=evidence))
    assert state.hosts["h1"].liveness == "live" and state.hosts["h1"].suspected
    assert state.liveset == ("h2.rack7",)
    state = apply(state, make(HostRejoined, host="h1", incarnation="boot-h1"))
    assert state.liveset == ("h1", "h2.rack7")


def test_only_a_live_host_can_be_suspected_or_rejoin() -> None:
    """Suspecting a joining host, or a dead host rejoining, are impossible: ignored."""
    state = created()
    evidence = SuspectEvidence(incarnation="b", lease_silent_for_s=6, timeout_s=5)
    state = apply(state, make(HostSuspected, host="h1", evidence=evidence))
    state = joined(state, "h2.rack7")
    state = apply(state, make(HostDeclaredDead, host="h2.rack7", evidence=dead_evidence()))
    state = apply(state, make(HostRejoined, host="h2.rack7", incarnation="boot-h2.rack7"))
    assert state.hosts["h1"].suspected is False
    assert state.hosts["h2.rack7"].liveness == "dead"
    assert state.ignored == 2


def test_fenced_host_is_out_of_the_liveset_and_keeps_its_vms_until_declared_dead() -> None:
    """HostFenced marks the host; its VMs move only when the arbiter declares it dead."""
    state = joined(created(), "h1")
    mark = FencedMark(source="bus", incarnation="boot-h1")
    state = apply(state, make(HostFenced, host="h1", mark=mark))
    assert state.hosts["h1"].liveness == "fenced"
    assert state.liveset == ()
    assert state.vms["Web 1"].host == "h1"


def test_declared_dead_host_loses_its_vms_and_its_pending_orders() -> None:
    """Protected VMs of a dead host await a restart, unprotected ones are halted, and every
    order addressed to the dead host is void."""
    state = joined(created(), "h1", "h2.rack7", "h 3")
    state = fold(
        [
            make(VMRestartOrdered, vm="spare", host="h1", incarnation="boot-h1", plan="p"),
            make(HostDeclaredDead, host="h1", evidence=dead_evidence("boot-h1")),
            make(HostDeclaredDead, host="h 3", evidence=dead_evidence("boot-h 3")),
        ],
        state,
    )
    assert state.hosts["h1"].liveness == "dead"
    assert state.vms_on("h1") == ()
    assert state.vms["Web 1"].power_state == "restarting"  # restart
    assert state.vms["db.primary"].power_state == "restarting"
    assert state.vms["batch"].power_state == "restarting"  # best-effort
    assert state.vms["scratch"].power_state == "halted"  # unprotected, not agile
    assert state.vms["spare"].order is None
    assert state.vms["Web 2"].host == "h2.rack7"  # other hosts untouched


def test_vm_restart_lifecycle() -> None:
    """Order -> restarting with the order; failure -> still restarting, no order;
    unplaceable; started -> running where it started."""
    state = joined(created(), "h1", "h2.rack7")
    state = apply(state, make(HostDeclaredDead, host="h1", evidence=dead_evidence("boot-h1")))
    order = make(VMRestartOrdered, vm="Web 1", host="h2.rack7", incarnation="boot-h2.rack7",
                 plan="plan-9")  # fmt: skip
    state = apply(state, order)
    assert state.vms["Web 1"].power_state == "restarting"
    assert state.vms["Web 1"].order == RestartOrder("h2.rack7", "boot-h2.rack7", "plan-9")
    state = apply(state, make(VMStartFailed, vm="Web 1", host="h2.rack7",
                              incarnation="boot-h2.rack7", reason="no disk"))  # fmt: skip
    assert (state.vms["Web 1"].power_state, state.vms["Web 1"].order) == ("restarting", None)
    state = apply(state, make(VMUnplaceable, vm="Web 1", reason="insufficient memory"))
    assert state.vms["Web 1"].power_state == "unplaceable"
    state = apply(state, make(VMStarted, vm="Web 1", host="h2.rack7",
                              incarnation="boot-h2.rack7", instance="i-1"))  # fmt: skip
    vm = state.vms["Web 1"]
    assert (vm.host, vm.power_state, vm.order) == ("h2.rack7", "running", None)


def test_orders_for_running_vms_or_unknown_or_dead_hosts_are_ignored() -> None:
    """A restart order for a VM that runs, or to a host not in the pool or dead, is void."""
    state = created()
    state = fold(
        [
            make(HostDeclaredDead, host="h 3", evidence=dead_evidence()),
            make(VMRestartOrdered, vm="Web 1", host="h2.rack7", incarnation="b", plan="p"),
            make(VMRestartOrdered, vm="spare", host="h9", incarnation="b", plan="p"),
            make(VMRestartOrdered, vm="spare", host="h 3", incarnation="b", plan="p"),
            make(VMUnplaceable, vm="Web 1", reason="r"),
            make(VMStartFailed, vm="Web 1", host="h1", incarnation="b", reason="r"),
            make(VMStarted, vm="ghost", host="h1", incarnation="b", instance="i"),
        ],
        state,
    )
    assert state.ignored == 6
    assert state.vms["Web 1"].power_state == "running"
    assert state.vms["spare"].order is None


def test_guest_halt_and_admin_shutdown_halt_the_vm_and_say_who() -> None:
    """Both halt the VM; halted_by tells the arbiter whether HA may restart it."""
    state = fold(
        [
            make(VMHaltedByGuest, vm="Web 1", host="h1"),
            make(VMShutDownByAdmin, vm="Web 2"),
        ],
        created(),
    )
    assert (state.vms["Web 1"].power_state, state.vms["Web 1"].halted_by) == ("halted", "guest")
    assert (state.vms["Web 2"].power_state, state.vms["Web 2"].halted_by) == ("halted", "admin")
    assert state.vms["Web 2"].host is None
    state = apply(state, make(VMStarted, vm="Web 2", host="h1", incarnation="b", instance="i"))
    assert state.vms["Web 2"].halted_by is None


def test_hosts_added_excluded_and_removed() -> None:
    """HostAdded adds a joining host; HostExcluded takes it out of the liveset; HostRemoved
    drops it and halts what ran there."""
    state = fold(
        [
            make(HostAdded, spec=Host(name="h4", memory_mib=8192)),
            make(HostJoined, host="h4", incarnation="b4"),
            make(VMStarted, vm="spare", host="h4", incarnation="b4", instance="i"),
        ],
        created(),
    )
    assert state.hosts["h4"].liveness == "live" and "h4" in state.liveset
    state = apply(state, make(HostExcluded, host="h4", reason="maintenance"))
    assert state.hosts["h4"].liveness == "excluded" and "h4" not in state.liveset
    state = apply(state, make(HostRemoved, host="h4"))
    assert "h4" not in state.hosts
    assert (state.vms["spare"].host, state.vms["spare"].power_state) == (None, "halted")
    state = apply(state, make(HostAdded, spec=Host(name="h1", memory_mib=1)))
    assert state.ignored == 1  # h1 already exists


def test_vm_created_and_protection_set() -> None:
    """VMCreated adds a VM (running if it names a host); VMProtectionSet changes priority,
    order and delay; protecting a VM with local disks is impossible and ignored."""
    state = fold(
        [
            make(VMCreated, spec=VM(name="New VM", memory_mib=512, host="h1")),
            make(VMCreated, spec=VM(name="Orphan", memory_mib=512, host="h9")),
            make(VMProtectionSet, vm="New VM", ha_restart_priority="restart", order=3,
                 start_delay_s=1.5),
            make(VMProtectionSet, vm="scratch", ha_restart_priority="restart"),
        ],
        created(),
    )  # fmt: skip
    vm = state.vms["New VM"]
    assert (vm.host, vm.power_state) == ("h1", "running")
    assert (vm.spec.ha_restart_priority, vm.spec.order, vm.spec.start_delay_s) == (
        "restart",
        3,
        1.5,
    )
    assert "Orphan" not in state.vms
    assert state.vms["scratch"].spec.ha_restart_priority == ""
    assert state.ignored == 2


def test_ha_settings_and_ntol() -> None:
    """NtolSet, HADisabled and HAEnabled change the pool's HA settings; HAEnabled keeps the
    settings it does not name."""
    state = fold(
        [
            make(NtolSet, host_failures_to_tolerate=2),
            make(HADisabled),
            make(HAEnabled, timeout_s=12.0),
        ],
        created(),
    )
    assert state.ha.host_failures_to_tolerate == 2
    assert state.ha.enabled is True
    assert state.ha.timeout_s == 12.0
    assert state.ha.heartbeat_store == "/srv/ha-sr"
    assert apply(state, make(HADisabled)).ha.enabled is False


def test_plans_and_overcommitment() -> None:
    """PlanComputed records the latest plan; PoolOvercommitted and PlanRestored toggle the
    overcommitted alarm."""
    plan = make(
        PlanComputed,
        based_on_seq=3,
        max_host_failures_to_tolerate=0,
        upper_bound=1,
        exact=False,
        worst_failure_set=("h1",),
        host_failures_to_tolerate=1,
    )
    state = fold(
        [plan, make(PoolOvercommitted, plan=plan.event_id, max_host_failures_to_tolerate=0,
                    host_failures_to_tolerate=1)],
        created(),
    )  # fmt: skip
    assert state.plan is not None
    assert (state.plan.event_id, state.plan.max_host_failures_to_tolerate) == (plan.event_id, 0)
    assert (state.plan.upper_bound, state.plan.exact, state.plan.worst_failure_set) == (
        1,
        False,
        ("h1",),
    )
    assert state.overcommitted is True
    state = apply(state, make(PlanRestored, plan="p2", max_host_failures_to_tolerate=1,
                              host_failures_to_tolerate=1))  # fmt: skip
    assert state.overcommitted is False
