"""Forged join requests in the simulator (fault `join_forger`, services.sim.hostile): a host
that publishes join requests on the other hosts' join subjects, for a new incarnation of each,
with no record, with a record signed by its own key, or with the victim's genuine records of
another incarnation replayed. The leader takes a keyed host's join only on that incarnation's
own signed slot (docs/protocol.md, Joins are signed too); under the old rule (any request on
`ha.join.<host>` taken) each forged join marked the victim's live incarnation fenced and the
same tick declared it dead: tests/sim/test_mutations.py puts that rule back and sees the
simulator's invariant checkers fail."""

from __future__ import annotations

from services.arbiter.view import DeclaredDead, Fenced, Joined
from services.common.timers import Timers
from services.sim.faults import Arbiters, Fault, Kind, Schedule
from services.sim.generate import uniform_pool
from tests.sim.helpers import simulate

T = 30.0


def forged_join_schedule() -> Schedule:
    """h1 forges joins for h2 and h3 from the first leader's judging to the end; h2 loses its
    power for an interval after T and comes back as h2#2, whose signed slots (written while it
    joins) the forger then replays in its forged joins. The arbiters run on a witness. Seed 11."""
    t = Timers.from_timeout(T)
    start = t.t_dead_s + 0.37 * t.interval_s
    return Schedule(
        11,
        uniform_pool(3, T),
        Arbiters((), ("witness",)),
        (
            Fault(Kind.JOIN_FORGER, start, None, ("h1",)),
            Fault(Kind.POWER, start + T, start + T + t.interval_s, ("h2",)),
        ),
        heal_at=3 * t.t_dead_s + 2 * T,
        end_at=7 * t.t_dead_s + 2 * T,
        timeout_s=T,
    )


def test_forged_joins_fence_no_host_and_count_as_forgeries() -> None:
    """With joins checked against the host's own signed slot: no invariant breaks; the healthy
    h3 is never marked fenced nor declared dead and vm3 stays on it; h2 is declared dead only
    as h2#1 (its power loss) and h2#2 joins on its own record, never a `~joined` incarnation;
    and the leader counted forged joins of all three kinds (no record, another key, another
    incarnation's genuine record)."""
    ran = simulate(forged_join_schedule())
    assert ran.outcome.ok, ran.outcome.violations
    log = ran.sim.log
    assert [d for d in log if isinstance(d, (Fenced, DeclaredDead)) and d.host == "h3"] == []
    assert ran.running_on("vm3") == {"h3"}
    assert [d.evidence.incarnation for d in ran.declared("h2")] == ["h2#1"]
    joins = [(d.host, d.incarnation) for d in log if isinstance(d, Joined)]
    assert ("h2", "h2#2") in joins and not any("~" in inc for _, inc in joins)
    whys = set(ran.sim.forgeries)
    assert "join request: the join carries no signed record of the incarnation's slot" in whys
    assert "join request: the join's record is not signed by h3's registered key" in whys
    assert "join request: the join's record is of incarnation h2#2, not h2#2~joined" in whys
