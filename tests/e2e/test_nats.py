"""NATS itself failing: the single server restarted, and one node of a 3-node JetStream R3
cluster killed in steady state and in the middle of a restart. No healthy host is fenced,
decisions go on, and no event of the log is lost."""

from __future__ import annotations

import time
from typing import Any

from tests.e2e.conftest import MakeLab
from tests.e2e.lab import VM, Lab
from tests.e2e.outcomes import FAILOVER_S, T, at, restarted_elsewhere

# A Raft group of a 3-node cluster that loses its leader (a node killed, isolated, or cut from
# it by a route) stops every write until a follower's election timeout fires: 4-9 s at random
# in nats-server (server/raft.go, minElectionTimeoutDefault..maxElectionTimeoutDefault), then
# a campaign, and a cut route may start another election after the first. Every host's lease
# renewal waits that long: the stall must stay inside T with a margin for a loaded machine, or
# every host goes silent for more than T (suspected by a leader that lasts) and the first to
# renew after the stall ends the global bus outage for the others, which may fence (seen under
# stress-ng with T = 5: stalls of 5.6 s and 9 s, a healthy host fenced). Longest election
# (9 s) plus 6 s: T = 15 s (interval 1.5 s). These tests are about who fences, not how fast.
CLUSTER_T = 15.0
# FAILOVER_S is sized for T = 3 s; a declaration takes T_dead (T + 4 intervals) after the
# lease goes silent, or after a new leader's election: twice the longer T on top.
CLUSTER_FAILOVER_S = FAILOVER_S + 2 * CLUSTER_T


def _kept(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> None:
    """Every event read before is still there, at its sequence, and none is missing."""
    assert [e["seq"] for e in after] == list(range(1, len(after) + 1))
    assert after[: len(before)] == before


def _nobody_fenced(lab: Lab, since: float) -> None:
    for kind in ("host_fenced", "host_declared_dead", "host_suspected"):
        found = [e for e in lab.events(kind) if at(e) > since]
        assert found == [], f"{kind}: {found}\n{lab.describe()}"
    assert all(not c.exits for c in lab.collectors.values()), {
        h: c.exits for h, c in lab.collectors.items()
    }


def test_a_nats_server_restart_fences_no_host_and_loses_no_event(make_lab: MakeLab) -> None:
    """The only NATS server crashes and stays down for longer than T, then starts again on
    its JetStream directory. Every host loses its lease at once while the store still shows
    the others alive: a global bus outage, in which the table fences no one. Minion 1's
    instance writes its disk throughout; after the restart every host is live again with
    nothing suspected, fenced or declared, and the log holds every event it had."""
    lab = make_lab(timeout_s=T, secured=True)
    lab.wait_live()
    before = lab.log()
    [instance] = lab.writers()
    killed_at = time.time()
    lab.kill_nats("n1")
    time.sleep(T + 2.0)
    lab.start_nats("n1")
    lab.wait_state(
        {"lab1": "live", "lab2": "live"}, {VM: ("lab1", "running")}, FAILOVER_S,
        "the pool live again after the restart",
    )  # fmt: skip
    after = lab.log()
    _kept(before, after)
    _nobody_fenced(lab, killed_at)
    # The same instance still writes after the restart, and no other ever wrote.
    assert lab.wait_writing(VM, "lab1", FAILOVER_S, since_ns=time.time_ns()) == instance
    assert list(lab.writers()) == [instance]


def test_one_cluster_node_lost_in_steady_state_fences_no_one_and_decisions_go_on(
    make_lab: MakeLab,
) -> None:
    """Three NATS nodes, every stream and bucket R3. The node leading the event stream is
    killed: the other two keep the quorum, so no host is fenced or suspected, and the next
    failure is still decided: lab1's power pulled, lab1 is declared dead and Minion 1 runs
    on lab2. Every event from before the kill is still in the log."""
    lab = make_lab(timeout_s=CLUSTER_T, nats_nodes=3, secured=True)
    lab.wait_live()
    before = lab.log()
    killed_at = time.time()
    lab.kill_nats(lab.stream_leader())
    time.sleep(CLUSTER_T + 2.0)
    _nobody_fenced(lab, killed_at)
    lab.pull("power", "lab1")
    pulled_ns = time.time_ns()
    assert lab.first_event("host_declared_dead", CLUSTER_FAILOVER_S, host="lab1")
    restarted_elsewhere(lab, "dead", since_ns=pulled_ns, within_s=CLUSTER_FAILOVER_S)
    _kept(before, lab.log())


def test_one_cluster_node_lost_during_a_restart_loses_nothing(make_lab: MakeLab) -> None:
    """lab1's power pulled; as soon as lab1 is declared dead, the node leading the event
    stream is killed, in the middle of the restart. Minion 1 still runs on lab2, started
    once, and every event read before the kill is still in the log."""
    lab = make_lab(timeout_s=CLUSTER_T, nats_nodes=3, secured=True)
    lab.wait_live()
    pulled_ns = time.time_ns()
    lab.pull("power", "lab1")
    lab.first_event("host_declared_dead", CLUSTER_FAILOVER_S, host="lab1")
    before = lab.log()
    lab.kill_nats(lab.stream_leader())
    restarted_elsewhere(lab, "dead", since_ns=pulled_ns, within_s=CLUSTER_FAILOVER_S)
    after = lab.log()
    _kept(before, after)
    starts = [e for e in after if e["type"] == "vm_started" and at(e) * 1e9 > pulled_ns]
    assert [(e["vm"], e["host"]) for e in starts] == [(VM, "lab2")]
    assert len([i for i, (h, _, _) in lab.writers().items() if h == "lab2"]) == 1
