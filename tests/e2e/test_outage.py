"""A bus outage after a host failure (issue 14, item 1): the most common second fault must not
take the pool down. Three hosts; lab3 is powered off and declared dead; then the only NATS
server is down for 2 T. No arbiter can restart anything meanwhile, so nobody fences."""

from __future__ import annotations

import time

from tests.e2e.conftest import MakeLab
from tests.e2e.lab import VM
from tests.e2e.outcomes import FAILOVER_S, REJOIN_S, T, at

HOSTS = ("lab1", "lab2", "lab3")


def test_a_nats_outage_after_a_host_was_declared_dead_fences_no_survivor(
    make_lab: MakeLab,
) -> None:
    """lab3 loses power and is declared dead (by timeout). Then the NATS server is killed
    and kept down for 2 T, and started again on its JetStream directory. lab3's frozen slot
    must not block the survivors' global-bus-outage rule: lab1 and lab2 neither fence nor
    exit, their watchdogs do not fire, Minion 1's instance on lab1 writes its disk
    throughout, and afterwards lab1 and lab2 are live again with nothing fenced or declared
    since the outage began. (A leader elected right after the restart may suspect them for a
    moment, before their next renewals reach it: suspicion moves no VM and ends on its own.)"""
    lab = make_lab(hosts=HOSTS, timeout_s=T, secured=True)
    lab.wait_live()
    lab.pull("power", "lab3")
    lab.eventually(
        lambda: lab.events("host_declared_dead", host="lab3"), FAILOVER_S, "lab3 declared dead"
    )
    [instance] = lab.writers()
    killed_at = time.time()
    lab.kill_nats("n1")
    time.sleep(2 * T)  # the outage itself, not a wait for an outcome
    lab.start_nats("n1")
    lab.wait_state(
        {"lab1": "live", "lab2": "live", "lab3": "dead"}, {VM: ("lab1", "running")},
        REJOIN_S, "lab1 and lab2 live again after the outage",
    )  # fmt: skip
    for kind in ("host_fenced", "host_declared_dead"):
        found = [e for e in lab.events(kind) if at(e) > killed_at]
        assert found == [], f"{kind}: {found}\n{lab.describe()}"
    for host in ("lab1", "lab2"):
        assert lab.collectors[host].exits == [], f"{host} exited: {lab.describe()}"
        assert "not petted" not in (lab.logs / f"collector-{host}.log").read_text()
    # The same instance still writes after the outage, and no other ever wrote.
    assert lab.wait_writing(VM, "lab1", FAILOVER_S, since_ns=time.time_ns()) == instance
    assert list(lab.writers()) == [instance], "Minion 1 was stopped and started again"
