"""The running system's views, built from the JSON objects the commands print: the status
tables, the status object the event log alone gives when no arbiter leads, `host status`
(why a host is not in the liveset, shown first), the result of an operator request (the
moves of an evacuation) and the live plan with `haplan plan`'s tables."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console

from schemas.events import HostFenced, HostJoined, HostSuspected, PoolCreated, VMStarted
from schemas.liveness import FencedMark, SuspectEvidence
from schemas.ops import HADisable, HostEvacuate, PoolSet, VMMigrate, VMSet, VMShutdown, VMStart
from schemas.reports import HostReport, RunningVM
from services.cli.host import host_view, reason_not_in_liveset
from services.cli.op_results import done_line, op_result
from services.cli.operator_tables import (
    capacity_from_json,
    host_status_view,
    plan_view,
    status_view,
)
from services.cli.output import UserError
from services.cli.status import log_status
from services.state import fold
from tests.fixtures.events import lab_pool, make

STORE_UNREACHABLE = "cannot join the liveset: the heartbeat store is not reachable"


def render(items: list[Any]) -> str:
    console = Console(file=io.StringIO(), width=160, record=True, color_system=None)
    for item in items:
        console.print(item)
    return console.export_text()


def status_object(**changes: Any) -> dict[str, Any]:
    status: dict[str, Any] = {
        "pool": "Lab pool",
        "ha_enabled": True,
        "leader": "arb-7",
        "max_host_failures_to_tolerate": 1,
        "host_failures_to_tolerate": 1,
        "overcommitted": False,
        "hosts": [
            {"name": "lab1", "state": "live", "suspected": False, "in_liveset": True,
             "incarnation": "lab1-boot"},
            {"name": "lab2", "state": "fenced", "suspected": False, "in_liveset": False,
             "incarnation": "lab2-boot"},
        ],
        "vms": [
            {"name": "Minion 1", "host": "lab1", "power_state": "running"},
            {"name": "Minion 2", "host": None, "power_state": "halted"},
        ],
    }  # fmt: skip
    return {**status, **changes}


# haplan status -----------------------------------------------------------------------------------


def test_status_tables_show_the_pool_line_hosts_and_vms() -> None:
    """The pool line (HA, ntol, max failures, leader), every host with its state and liveset
    membership, every VM with its host and power state."""
    text = render(status_view(status_object()))
    first = text.splitlines()[0]
    assert "Lab pool" in first and "HA on" in first and "leader arb-7" in first
    assert "host failures to tolerate 1" in first and "max failures 1: met" in first
    rows = {line.split()[1]: line for line in text.splitlines() if line.startswith("│ lab")}
    assert "live" in rows["lab1"] and "yes" in rows["lab1"] and "lab1-boot" in rows["lab1"]
    assert "fenced" in rows["lab2"] and "no" in rows["lab2"]
    assert "Minion 1" in text and "running" in text
    assert "Minion 2" in text and "halted" in text


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        (
            {"overcommitted": True, "max_host_failures_to_tolerate": 0},
            "max failures 0: overcommitted",
        ),
        ({"max_host_failures_to_tolerate": None}, "max failures not computed yet"),
        ({"ha_enabled": False}, "HA off"),
        ({"leader": None}, "no leader"),
    ],
)
def test_the_pool_line_says_what_needs_attention(changes: dict[str, Any], says: str) -> None:
    """Overcommitment, a plan not computed yet, HA off and a missing leader are on the pool
    line, where the eye lands first."""
    assert says in render(status_view(status_object(**changes))).splitlines()[0]


def test_a_suspected_host_is_marked() -> None:
    """A live host whose lease went silent says so next to its state."""
    hosts = [{"name": "lab1", "state": "live", "suspected": True, "in_liveset": False,
              "incarnation": "b"}]  # fmt: skip
    assert "live (suspected)" in render(status_view(status_object(hosts=hosts)))


def test_log_status_is_the_status_object_with_no_leader() -> None:
    """From the log alone: the spec's keys, `leader` null, host states and liveset as the
    log records them, VMs where the log last saw them: Minion 1's host fenced, so it is shown
    stopped although the log last recorded it running."""
    state = fold([
        make(PoolCreated, epoch=0, pool=lab_pool()),
        make(HostJoined, host="lab1", incarnation="lab1-a"),
        make(HostJoined, host="lab2", incarnation="lab2-a"),
        make(HostFenced, host="lab1",
             mark=FencedMark(source="slot", observer="lab2", incarnation="lab1-a")),
    ])  # fmt: skip
    status = log_status(state)
    spec_keys = {"pool", "ha_enabled", "leader", "max_host_failures_to_tolerate",
                 "host_failures_to_tolerate", "overcommitted", "hosts", "vms"}  # fmt: skip
    assert spec_keys <= set(status)
    assert "ok" not in status
    assert status["leader"] is None and status["pool"] == "Lab pool"
    hosts = {h["name"]: (h["state"], h["in_liveset"]) for h in status["hosts"]}
    assert hosts == {"lab1": ("fenced", False), "lab2": ("live", True)}
    assert status["vms"] == [{"name": "Minion 1", "host": "lab1", "power_state": "stopped",
                              "recorded_power_state": "running", "ha_restart_priority": "restart",
                              "order": 0, "memory_mib": 4160}]  # fmt: skip


def test_log_status_of_an_empty_log_says_to_load_a_pool() -> None:
    """No pool in the log: a one-line error that says how to load one."""
    with pytest.raises(UserError, match="holds no pool") as raised:
        log_status(fold([]))
    assert raised.value.hint is not None and "haplan pool create" in raised.value.hint


# haplan host status ----------------------------------------------------------------------------


def report(**changes: Any) -> HostReport:
    fields: dict[str, Any] = dict(
        host="lab2", incarnation="lab2-boot", seq=7, phase="joining",
        reason=STORE_UNREACHABLE, lease_ok=True, store_ok=False,
    )  # fmt: skip
    return HostReport(**{**fields, **changes})


def test_host_view_puts_the_collector_next_to_the_log() -> None:
    """The collector's phase, lease and store and the instances it runs, with the log's
    state, liveset membership and the VMs the log places on the host."""
    vms = (RunningVM(vm="Minion 1", instance="o-1"),)
    running = report(phase="member", reason=None, store_ok=True, host="lab1",
                     incarnation="lab1-boot", vms=vms)  # fmt: skip
    view = host_view(status_object(), "lab1", running)
    assert view == {
        "host": "lab1", "pool": "Lab pool", "leader": "arb-7", "state": "live",
        "in_liveset": True, "suspected": False, "incarnation": "lab1-boot", "reason": None,
        "collector": True, "phase": "member", "lease_ok": True, "store_ok": True,
        "instances": [{"vm": "Minion 1", "instance": "o-1"}], "vms": ["Minion 1"],
    }  # fmt: skip


def test_the_collectors_reason_comes_first_and_is_shown_prominently() -> None:
    """A host that cannot join says why in its own words, on the line under the headline,
    before the details table."""
    view = host_view(status_object(), "lab2", report())
    assert view["reason"] == STORE_UNREACHABLE and view["store_ok"] is False
    lines = render(host_status_view(view)).splitlines()
    assert "lab2" in lines[0] and "NOT in the liveset" in lines[0]
    assert lines[1] == STORE_UNREACHABLE


def test_a_host_in_maintenance_says_so_in_the_headline() -> None:
    """A host the leader still counts in the liveset but that is excluded (maintenance) says
    both, and how to take it back."""
    hosts = [{"name": "lab1", "state": "excluded", "suspected": False, "in_liveset": True,
              "incarnation": "b"}]  # fmt: skip
    view = host_view(status_object(hosts=hosts), "lab1", None)
    head = render(host_status_view(view)).splitlines()[0]
    assert "in the liveset" in head and "in maintenance" in head and "haplan host enable" in head


def test_without_a_collector_the_log_says_why() -> None:
    """No collector answers: the view says so and gives the reason the log implies."""
    view = host_view(status_object(), "lab2", None)
    assert view["collector"] is False and view["phase"] is None and view["store_ok"] is None
    assert view["reason"] is not None and "fenced itself" in view["reason"]
    assert "no collector answers for lab2" in render(host_status_view(view))


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ({"state": "joining", "in_liveset": False}, "not joined the liveset yet"),
        ({"state": "dead", "in_liveset": False}, "declared it dead"),
        ({"state": "excluded", "in_liveset": False}, "in maintenance"),
        ({"state": "live", "suspected": True, "in_liveset": False}, "suspected"),
        ({"state": "live", "in_liveset": False}, "lease as current"),
        ({"state": "live", "in_liveset": True}, None),
    ],
)
def test_reasons_from_the_log(entry: dict[str, Any], says: str | None) -> None:
    """Each log state out of the liveset has its own reason; a liveset member has none."""
    reason = reason_not_in_liveset({"name": "lab1", **entry}, None)
    assert reason is None if says is None else (reason is not None and says in reason)


def test_an_unknown_host_is_exit_2_naming_the_hosts() -> None:
    """A host the pool does not have is bad input; the hint lists the pool's hosts."""
    with pytest.raises(UserError, match="no host named 'lab9'") as raised:
        host_view(status_object(), "lab9", None)
    assert raised.value.exit_code == 2 and raised.value.hint == "its hosts: lab1, lab2"


def test_log_state_of_a_suspected_host_in_the_view() -> None:
    """From a folded log: a suspected host is out of the liveset, with the reason."""
    state = fold([
        make(PoolCreated, epoch=0, pool=lab_pool()),
        make(HostJoined, host="lab1", incarnation="lab1-a"),
        make(HostSuspected, host="lab1", evidence=SuspectEvidence(
            incarnation="lab1-a", lease_silent_for_s=3.0, timeout_s=2.0)),
        make(VMStarted, vm="Minion 1", host="lab1", incarnation="lab1-a", instance="i-1"),
    ])  # fmt: skip
    view = host_view(log_status(state), "lab1", None)
    assert view["state"] == "live" and view["suspected"] and not view["in_liveset"]
    assert view["reason"] is not None and "suspected" in view["reason"]
    assert view["vms"] == ["Minion 1"]


# ha.op.<verb> results --------------------------------------------------------------------------


def test_an_evacuation_shows_the_moves_the_leader_lists() -> None:
    """The done line, then a Moves table with each VM and its destination; other detail
    keys are listed too."""
    detail = {"moves": [{"vm": "Minion 1", "host": "lab2"}], "events": ["vm_evacuated"]}
    text = render(op_result(HostEvacuate(host="lab1"), detail))
    assert text.splitlines()[0].startswith("Host lab1 is in maintenance")
    assert "Moves" in text
    assert any("Minion 1" in line and "lab2" in line for line in text.splitlines())
    assert any("events" in line and "vm_evacuated" in line for line in text.splitlines())


def test_an_evacuation_plan_in_the_detail_shows_moves_stuck_vms_and_ntol() -> None:
    """The leader's evacuation plan (EvacuationPlan's JSON under `plan`): its moves, the VMs
    that cannot move with their reasons, and whether ntol holds; the plan itself is not
    dumped as JSON."""
    plan = {"host": "lab1", "possible": False, "moves": [{"vm": "Minion 1", "host": "lab2"}],
            "cannot_move": [{"vm": "db", "reason": "local disks (agile: false)"}],
            "capacity_after": None, "ntol_holds": False}  # fmt: skip
    detail = {"recorded": "host_excluded", "plan": plan, "stopping": ["Minion 1"]}
    text = render(op_result(HostEvacuate(host="lab1"), detail))
    lines = text.splitlines()
    assert any("Minion 1" in line and "lab2" in line for line in lines)
    assert any("db" in line and "local disks" in line for line in lines)
    assert "host_failures_to_tolerate no longer holds" in text
    assert any("stopping" in line and "Minion 1" in line for line in lines)
    assert "capacity_after" not in text


@pytest.mark.parametrize(
    ("op", "detail", "says"),
    [
        (VMStart(vm="Minion 1"), {"vm": "Minion 1", "host": "lab2"}, "Minion 1 on lab2 ordered"),
        (HADisable(), {"changed": False}, "It already was: nothing changed."),
    ],
)
def test_done_lines_use_what_the_leader_says(op: Any, detail: dict[str, Any], says: str) -> None:
    """Where the planner placed a started VM, and a request that changed nothing, are said
    in the done line."""
    assert says in render(op_result(op, detail)).splitlines()[0]


def test_a_migration_is_one_line_with_where_it_came_from() -> None:
    """A confirmed migration says where the VM runs and where it was stopped, an unconfirmed
    one that it starts once the stop is confirmed; the detail it said is no table below."""
    move = VMMigrate(vm="Minion 1", host="lab1")
    detail = {"vm": "Minion 1", "from": "lab2", "to": "lab1", "stopping": True}
    done = render(op_result(move, detail | {"running": True}))
    assert done.strip() == "VM Minion 1 runs on lab1 (stopped on lab2 first)."
    ordered = render(op_result(move, detail | {"running": False}))
    assert ordered.strip().endswith("it starts on lab1 once the stop is confirmed.")
    assert "stopping" not in ordered


def test_an_evacuation_of_an_empty_host_says_nothing_moves() -> None:
    """No moves: a sentence, not an empty table."""
    text = render(op_result(HostEvacuate(host="lab1"), {"moves": []}))
    assert "nothing to move" in text and "Moves" not in text


@pytest.mark.parametrize(
    ("op", "says"),
    [
        (HADisable(), "HA is disabled"),
        (PoolSet(host_failures_to_tolerate=2), "host_failures_to_tolerate=2"),
        (VMSet(vm="Minion 1", ha_restart_priority=""), 'ha_restart_priority=""'),
        (VMStart(vm="Minion 1", host="lab2"), "Minion 1 on lab2 ordered"),
        (VMShutdown(vm="Minion 1"), "stays halted"),
    ],
)
def test_done_lines_say_what_was_done(op: Any, says: str) -> None:
    """Each verb's line restates what the operator asked for, now accepted."""
    assert says in render([done_line(op, {})])


# haplan pool compute-max-failures -------------------------------------------------------------


def test_the_live_plan_renders_with_the_plan_tables() -> None:
    """The planner's JSON (as `haplan plan --json`) round-trips to its result and renders
    with `haplan plan`'s capacity table, after a hosts table from its rows."""
    from schemas.plan_hosts import host_rows
    from services.planner import max_failures

    pool = lab_pool()
    capacity = max_failures(pool)
    answer = {**capacity.to_json(), "hosts": host_rows(pool)}
    assert capacity_from_json(answer) == capacity
    text = render(plan_view(answer))
    assert "max host failures to tolerate" in text and "(exact)" in text
    lab1 = next(line for line in text.splitlines() if line.startswith("│ lab1"))
    assert "32768" in lab1 and "2048" in lab1
