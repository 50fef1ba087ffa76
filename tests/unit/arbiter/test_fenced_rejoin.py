"""A fenced host does not rejoin: a lease renewal that was in flight when it said it fenced
brings back none of its killed VMs, and the log records no `host_rejoined` for it (the audit
refuses one: only a live, suspected host rejoins; a fenced one comes back by joining anew)."""

from __future__ import annotations

from schemas.messages import FencedNotice
from services.arbiter.view import Fenced, Joined, Rejoined, Suspected
from services.audit import verify
from tests.unit.arbiter.helpers import HOSTS, POOL, Clock, T, join, leader
from tests.unit.audit.sim_logs import as_log


def test_a_suspected_host_that_fenced_is_not_recorded_as_rejoined_and_the_log_verifies() -> None:
    """a goes silent and is suspected, says it fenced, then a renewal of its lease sent before
    the mark arrives: no Rejoined, a stays fenced and out of the liveset, and the decisions,
    recorded as events after the hosts' joins, verify with no difference."""
    clock = Clock(leader(0.0))
    clock.alive.discard("a")
    while not clock.of(Suspected):
        clock.step()
    assert clock.now <= T + 1
    clock.arb.fenced_notice(FencedNotice(host="a", incarnation="a#1"), clock.now)
    clock.step()
    assert [d.host for d in clock.of(Fenced)] == ["a"]
    clock.arb.lease_renewed("a", "a#1", clock.now + 0.5)  # sent before it fenced
    clock.step()
    clock.step()
    assert clock.of(Rejoined) == []
    assert clock.arb.view.hosts["a"].fenced and "a" not in clock.arb.liveset(clock.now)
    joins = [Joined(h, f"{h}#1", join(h, f"{h}#1", None).record) for h in HOSTS]
    report = verify(as_log(POOL, [*joins, *clock.decisions]))
    assert report.differences == [], report.differences
