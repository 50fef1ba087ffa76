"""Properties of the fold over random event sequences (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.events import (
    EventBase,
    HostDeclaredDead,
    HostFenced,
    HostJoined,
    HostSuspected,
    PoolCreated,
    VMHaltedByGuest,
    VMRestartOrdered,
    VMShutDownByAdmin,
    VMStarted,
    VMStartFailed,
    VMUnplaceable,
    decode_event,
    encode_event,
)
from schemas.liveness import FencedMark, SuspectEvidence
from services.state import PoolState, fold
from tests.fixtures.events import dead_evidence, make, rich_pool

HOSTS = ["h1", "h2.rack7", "h 3", "unknown host"]
VMS = ["Web 1", "Web 2", "db.primary", "batch", "scratch", "spare", "ghost"]

host = st.sampled_from(HOSTS)
vm = st.sampled_from(VMS)
boot = st.sampled_from(["b1", "b2"])

liveness_event = st.one_of(
    st.builds(lambda h, b: make(HostJoined, host=h, incarnation=b), host, boot),
    st.builds(
        lambda h: make(HostSuspected, host=h, evidence=SuspectEvidence(
            incarnation="b1", lease_silent_for_s=6, timeout_s=5)),
        host,
    ),
    st.builds(lambda h: make(HostFenced, host=h, mark=FencedMark(source="bus", incarnation="b1")),
              host),
    st.builds(lambda h: make(HostDeclaredDead, host=h, evidence=dead_evidence()), host),
)  # fmt: skip
vm_event = st.one_of(
    st.builds(lambda v, h, b: make(VMRestartOrdered, vm=v, host=h, incarnation=b, plan="p"),
              vm, host, boot),
    st.builds(lambda v, h, b: make(VMStarted, vm=v, host=h, incarnation=b, instance="i"),
              vm, host, boot),
    st.builds(lambda v, h, b: make(VMStartFailed, vm=v, host=h, incarnation=b, reason="r"),
              vm, host, boot),
    st.builds(lambda v: make(VMUnplaceable, vm=v, reason="full"), vm),
    st.builds(lambda v, h: make(VMHaltedByGuest, vm=v, host=h), vm, host),
    st.builds(lambda v: make(VMShutDownByAdmin, vm=v), vm),
)  # fmt: skip
logs = st.lists(st.one_of(liveness_event, vm_event), max_size=40).map(
    lambda tail: [make(PoolCreated, epoch=0, pool=rich_pool()), *tail]
)


def _check_invariants(state: PoolState) -> None:
    for v in state.vms.values():
        # A VM runs exactly when it has a host, and that host is in the pool.
        assert (v.host is not None) == (v.power_state == "running")
        assert v.host is None or v.host in state.hosts
        # Orders exist only for VMs waiting for a restart, addressed to a pool host that
        # is not dead (a dead host's collector will never execute them).
        if v.order is not None:
            assert v.power_state == "restarting"
            assert state.hosts[v.order.host].liveness != "dead"
    for name in state.liveset:
        assert state.hosts[name].liveness == "live" and not state.hosts[name].suspected


@settings(max_examples=200, deadline=None)
@given(logs)
def test_any_log_folds_without_error_and_keeps_the_state_consistent(
    events: list[EventBase],
) -> None:
    """Whatever the order of events (even impossible ones), the fold never raises, counts
    every event, and every intermediate state is consistent."""
    state = PoolState()
    for i, event in enumerate(events, start=1):
        state = fold([event], state)  # type: ignore[list-item]
        assert state.applied == i
        _check_invariants(state)
    assert state.ignored <= state.applied


@settings(max_examples=100, deadline=None)
@given(logs)
def test_folding_the_stored_log_equals_folding_the_events(events: list[EventBase]) -> None:
    """Replaying the encoded log gives the same state as folding the events directly."""
    stored = [decode_event(encode_event(e)) for e in events]  # type: ignore[arg-type]
    assert fold(stored) == fold(events)  # type: ignore[arg-type]


@settings(max_examples=100, deadline=None)
@given(logs)
def test_no_order_survives_for_a_host_declared_dead(events: list[EventBase]) -> None:
    """Right after a host is declared dead, no pending order is addressed to it."""
    state = PoolState()
    for event in events:
        state = fold([event], state)  # type: ignore[list-item]
        if isinstance(event, HostDeclaredDead):
            assert all(v.order is None or v.order.host != event.host for v in state.vms.values())
            assert all(v.host != event.host for v in state.vms.values())
