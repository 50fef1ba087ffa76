"""verify on declarations by a BMC's confirmed power-off (rule power_off): the real arbiter
core's declarations in simulated runs are reproduced; one whose BMC said "on", or of a host
without a fencing chain, is not."""

from __future__ import annotations

from schemas.events import HostDeclaredDead, PoolCreated
from services.audit import Entry, verify
from services.sim.faults import Fault, Kind
from tests.sim.test_bmc_fencing import REDFISH, fenced_lab, hung_lab1, schedule
from tests.sim.test_bmc_fencing import START as AT
from tests.unit.audit.logs import tampered
from tests.unit.audit.sim_logs import simulated_log


def _bmc_log() -> list[Entry]:
    return simulated_log(schedule(fenced_lab(REDFISH), Fault(Kind.POWER, AT, None, ("lab1",))))


def _declaration(log: list[Entry]) -> Entry:
    [entry] = [e for e in log if isinstance(e.event, HostDeclaredDead)]
    assert isinstance(entry.event, HostDeclaredDead)
    assert entry.event.evidence.rule == "power_off"
    return entry


def _problems(log: list[Entry], seq: int) -> list[str]:
    return [f.problem for f in verify(log).differences if f.seq == seq]


def test_power_off_declarations_of_simulated_runs_verify() -> None:
    """A power pull and a hang, each ended by the BMC: every decision is reproduced."""
    for log in (_bmc_log(), simulated_log(hung_lab1(fenced_lab(REDFISH)))):
        _declaration(log)
        report = verify(log)
        assert report.ok and not report.unconfirmed, report.to_json()


def test_a_declaration_on_a_bmc_that_said_on_is_caught() -> None:
    """The same declaration with the BMC's status read saying "on": the rule does not hold."""
    log = _bmc_log()
    entry = _declaration(log)
    assert isinstance(entry.event, HostDeclaredDead)
    proof = entry.event.evidence.power_off
    assert proof is not None
    evidence = entry.event.evidence.model_copy(
        update={"power_off": proof.model_copy(update={"power_state": "on"})}
    )
    problems = _problems(tampered(log, entry.seq, evidence=evidence.model_dump()), entry.seq)
    assert any("rule 'power_off' does not hold" in p for p in problems), problems


def test_a_power_off_declaration_of_a_host_without_a_chain_is_caught() -> None:
    """The pool the log created gives lab1 no fencing chain: no BMC could have answered."""
    log = _bmc_log()
    entry = _declaration(log)
    created = log[0].event
    assert isinstance(created, PoolCreated)
    hosts = [h.model_copy(update={"fencing": ()}).model_dump() for h in created.pool.hosts]
    pool = {**created.pool.model_dump(), "hosts": hosts}
    problems = _problems(tampered(log, 1, pool=pool), entry.seq)
    assert any("has no fencing chain" in p for p in problems), problems
