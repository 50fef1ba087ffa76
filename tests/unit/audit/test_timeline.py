"""The timeline: which events each filter keeps, and what a row says."""

from __future__ import annotations

from datetime import timedelta

from schemas.events import HostJoined, PlanComputed, VMCreated, VMHaltedByGuest
from schemas.pool import VM
from services.audit import TimelineFilter, involved, timeline
from tests.fixtures.events import T0, make, sample_events
from tests.unit.audit.logs import failover_log


def seqs(rows) -> list[int]:  # type: ignore[no-untyped-def]
    return [r.seq for r in rows]


def test_no_filter_keeps_every_event_in_log_order() -> None:
    """Without a filter the timeline is the whole log, one row per event, in order."""
    log = failover_log()
    assert seqs(timeline(log.entries)) == list(range(1, log.seq + 1))


def test_since_and_until_bound_the_time_both_ends_included() -> None:
    """Entries are a second apart from T0: [T0+2s, T0+4s] keeps sequences 3, 4 and 5."""
    log = failover_log()
    only = TimelineFilter(since=T0 + timedelta(seconds=2), until=T0 + timedelta(seconds=4))
    assert seqs(timeline(log.entries, only)) == [3, 4, 5]
    assert seqs(timeline(log.entries, TimelineFilter(since=T0 + timedelta(seconds=7)))) == [8, 9]


def test_host_filter_keeps_events_naming_the_host() -> None:
    """--host lab2 keeps the pool creation, its join, and the order and start that name it;
    lab1's own liveness events are left out."""
    log = failover_log()
    rows = list(timeline(log.entries, TimelineFilter(hosts=frozenset({"lab2"}))))
    assert [r.type for r in rows] == [
        "pool_created", "host_joined", "vm_restart_ordered", "vm_started",
    ]  # fmt: skip
    assert all("lab2" in r.hosts for r in rows)


def test_vm_and_host_filters_combine() -> None:
    """--vm narrows to events naming the VM; with --host too, an event must name both."""
    log = failover_log()
    vm_only = TimelineFilter(vms=frozenset({"Minion 1"}))
    assert [r.type for r in timeline(log.entries, vm_only)] == [
        "pool_created", "vm_restart_ordered", "vm_started",
    ]  # fmt: skip
    both = TimelineFilter(hosts=frozenset({"lab1"}), vms=frozenset({"Minion 1"}))
    assert [r.type for r in timeline(log.entries, both)] == ["pool_created"]
    either_host = TimelineFilter(hosts=frozenset({"lab1", "nowhere"}))
    assert len(list(timeline(log.entries, either_host))) == 4


def test_involved_names_the_hosts_and_vms_of_each_kind_of_event() -> None:
    """VM events name the VM and the host they happened on; a plan names its worst set;
    configuration events name what they create."""
    assert involved(make(VMHaltedByGuest, vm="a b", host="h.1")) == (("h.1",), ("a b",))
    assert involved(make(HostJoined, host="h", incarnation="i")) == (("h",), ())
    assert involved(make(VMCreated, spec=VM(name="v", memory_mib=1))) == ((), ("v",))
    plan = make(PlanComputed, based_on_seq=1, max_host_failures_to_tolerate=0, upper_bound=0,
                exact=True, worst_failure_set=("h1",), host_failures_to_tolerate=0)  # fmt: skip
    assert involved(plan) == (("h1",), ())
    named = [involved(e) for e in sample_events()]
    assert all(isinstance(n.hosts, tuple) and isinstance(n.vms, tuple) for n in named)


def test_a_row_carries_the_summary_and_its_json_the_whole_event() -> None:
    """A row holds the event's one-line summary; its JSON form has the subject columns, the
    UTC time with Z, and the event exactly as stored."""
    log = failover_log()
    row = list(timeline(log.entries))[5]
    assert row.summary == "host lab1 declared dead (rule timeout)"
    data = row.to_json()
    assert data["seq"] == 6 and data["hosts"] == ["lab1"] and data["vms"] == []
    assert data["at"] == "2026-03-01T12:00:05Z"
    assert data["event"]["evidence"]["rule"] == "timeout"
