"""verify on the guard against mass suspicion: the real arbiter core's guard decisions in
simulated runs are reproduced; an engagement or release its rule does not back, and a
declaration on silence while the guard holds, are not."""

from __future__ import annotations

from schemas.events import GuardEngaged, GuardReleased, HostDeclaredDead
from services.audit import Entry, verify
from services.sim.faults import Arbiters, Fault, Kind, Schedule
from tests.sim.test_guard import AT, LOST, TIMERS, UNTIL, _pool
from tests.unit.audit.logs import tampered, timeout_evidence
from tests.unit.audit.sim_logs import simulated_log


def _log(*faults: Fault) -> list[Entry]:
    heal = UNTIL + TIMERS.t_dead_s
    schedule = Schedule(
        14,
        _pool(0.5),
        Arbiters(("h3",)),
        faults,
        heal,
        heal + 4 * TIMERS.t_dead_s,
        TIMERS.timeout_s,
    )
    return simulated_log(schedule)


def _cut() -> list[Entry]:
    return _log(Fault(Kind.BUS_LINK, AT, UNTIL, LOST), Fault(Kind.STORE_LINK, AT, UNTIL, LOST))


def _seq(log: list[Entry], kind: type) -> int:
    return next(e.seq for e in log if isinstance(e.event, kind))


def _problems(log: list[Entry], seq: int) -> list[str]:
    return [f.problem for f in verify(log).differences if f.seq == seq]


def test_the_guards_decisions_in_simulated_runs_verify() -> None:
    """Two hosts cut from bus and store, and the arbiter's lease watch broken during a store
    outage: the guard engages and releases, hosts are declared on their own word, and every
    decision of both runs is reproduced."""
    watch = _log(
        Fault(Kind.LEASE_WATCH, AT, UNTIL, LOST),
        Fault(Kind.STORE_LINK, AT, UNTIL, ("h1", "h2", "h3")),
    )
    for log in (_cut(), watch):
        report = verify(log)
        assert report.ok and not report.unconfirmed, report.to_json()
        assert report.checked["guard_engaged"] == report.checked["guard_released"] == 1


def test_a_declaration_on_silence_while_the_guard_holds_is_caught() -> None:
    """A timeout declaration of h1 just after the guard engaged (its evidence otherwise
    sound) is reported: only a host's own word declares it while the guard holds."""
    log = _cut()
    on = _seq(log, GuardEngaged)
    engaged = log[on - 1].event
    declared = HostDeclaredDead(
        event_id="00000000-0000-4000-8000-00000000beef",
        at=engaged.at,
        epoch=engaged.epoch,
        host="h1",
        evidence=timeout_evidence(incarnation="h1#1"),
    )
    forged = [*log[:on], Entry(on + 1, declared)] + [Entry(e.seq + 1, e.event) for e in log[on:]]
    found = _problems(forged, on + 1)
    assert any("the guard against mass suspicion holds" in p for p in found), found


def test_an_engagement_or_release_the_rule_does_not_back_is_caught() -> None:
    """An engagement claiming more members than the log has (so 2 suspects are not more than
    the share), or claiming a share the pool does not set, and a release naming no suspects
    while two are left, each differ."""
    log = _cut()
    on, off = _seq(log, GuardEngaged), _seq(log, GuardReleased)
    ev = log[on - 1].event.evidence  # type: ignore[attr-defined]
    assert _problems(log, on) == [] and _problems(log, off) == []
    for bad in ({"members": 4}, {"share": 0.9}):
        found = _problems(tampered(log, on, evidence=ev.model_copy(update=bad)), on)
        assert found, bad
    release = log[off - 1].event.evidence  # type: ignore[attr-defined]
    emptied = release.model_copy(update={"suspects": ()})
    moved = [*log[:on], Entry(on + 1, log[off - 1].event.model_copy(update={"evidence": emptied}))]
    found = _problems(moved, on + 1)
    assert any("the log's are h1, h2" in p for p in found), found
