"""Properties of the arbiter core over random histories (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.messages import FencedNotice
from services.arbiter.rules import rule_holds
from services.arbiter.view import DeclaredDead, Joined, RestartOrdered
from tests.unit.arbiter.helpers import (
    HOSTS,
    T_DEAD,
    TIMERS,
    Clock,
    T,
    join,
    leader,
    observation,
    reading,
)

host = st.sampled_from(HOSTS)
incarnation = st.sampled_from(("#1", "#2", "#0"))
event = st.one_of(
    st.tuples(st.just("notice"), host, incarnation),
    st.tuples(
        st.just("reading"),
        host,
        incarnation,
        st.floats(0, 60),
        st.booleans(),
        st.booleans(),
        st.booleans(),
    ),
    st.tuples(st.just("outage"), host, st.floats(0, 60), st.booleans()),
    st.tuples(st.just("join"), host, incarnation, st.booleans()),
)
step = st.tuples(st.sets(host), st.lists(event, max_size=3))


Timeline = list[tuple[float, object, dict[str, float]]]


def _play(steps: list[tuple[set[str], list[tuple[object, ...]]]]) -> tuple[Clock, Timeline]:
    """Feed the steps to a leader; the timeline has, per decision, when it was made and when
    each host last renewed its lease (of incarnation #1, the only one the Clock renews)."""
    clock = Clock(leader(0.0))
    old_beacon = None
    renewed: dict[str, float] = {}
    timeline: Timeline = []
    for alive, events in steps:
        clock.alive = set(alive)
        arb, now = clock.arb, clock.now + 0.5
        observations = []
        for e in events:
            kind, h = e[0], str(e[1])
            if kind == "notice":
                arb.fenced_notice(FencedNotice(host=h, incarnation=f"{h}{e[2]}"), now)
            elif kind == "reading":
                _, _, inc, stale, fenced, current, fresh = e
                beacon = clock.beacon if fresh else old_beacon
                observer = "b" if h != "b" else "c"
                r = reading(
                    h, float(stale), inc=f"{h}{inc}", fenced=bool(fenced), current=bool(current)
                )
                observations.append(observation(observer, beacon, r))
            elif kind == "outage":
                beacon = clock.beacon if e[3] else old_beacon
                observations.append(observation(h, beacon, unreachable=float(e[2])))
            else:
                beacon = clock.beacon if e[3] else old_beacon
                arb.join_request(join(h, f"{h}{e[2]}", beacon), now)
        old_beacon = old_beacon or clock.beacon
        out = clock.step(*observations)
        renewed.update({h: clock.now for h in alive})
        timeline.extend((clock.now, d, dict(renewed)) for d in out.decisions)
    return clock, timeline


@settings(max_examples=100, deadline=None)
@given(st.lists(step, min_size=16, max_size=50))
def test_every_declaration_passes_its_own_re_check(steps: list[tuple[set[str], list]]) -> None:  # type: ignore[type-arg]
    """Whatever happened, each host declared dead carries evidence that rule_holds accepts,
    and nothing is declared in the first T_dead of the leadership."""
    clock, _ = _play(steps)
    for d in clock.decisions:
        if isinstance(d, DeclaredDead):
            assert rule_holds(d.evidence, TIMERS), d
            assert d.evidence.leader_for_s >= T_DEAD


@settings(max_examples=100, deadline=None)
@given(st.lists(step, min_size=16, max_size=50))
def test_restarts_go_to_joined_members_with_a_current_lease(
    steps: list[tuple[set[str], list]],  # type: ignore[type-arg]
) -> None:
    """Every restart order names a host whose named incarnation joined, was not declared dead
    before, and renewed its lease within T of the order: VMs go only to liveset members."""
    _, timeline = _play(steps)
    joined: set[tuple[str, str]] = {(h, f"{h}#1") for h in HOSTS}
    dead: set[tuple[str, str]] = set()
    for at, d, renewed in timeline:
        if isinstance(d, Joined):
            joined.add((d.host, d.incarnation))
        elif isinstance(d, DeclaredDead):
            dead.add((d.host, d.evidence.incarnation))
        elif isinstance(d, RestartOrdered):
            target = (d.host, d.incarnation)
            assert target in joined and target not in dead
            assert d.incarnation == f"{d.host}#1" and at - renewed[d.host] < T
