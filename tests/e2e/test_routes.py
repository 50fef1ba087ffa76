"""NATS cluster faults that leave every server running: one node isolated (its cable pulled),
one node hung (SIGSTOP), and one route between two nodes cut, in a 3-node JetStream R3
cluster with the hosts, the arbiters and the planner spread over the nodes (each connects to
its own node and learns the others from the cluster). docs/protocol.md, "NATS cluster faults:
what haplan promises", says what each test holds the design to."""

from __future__ import annotations

import time

from tests.e2e.conftest import MakeLab
from tests.e2e.lab import Lab
from tests.e2e.outcomes import REJOIN_S
from tests.e2e.test_nats import CLUSTER_T, _kept, _nobody_fenced

HOSTS = ("lab1", "lab2", "lab3")
# One host per node; the two arbiters on different nodes, the planner on the third.
HOMES = {
    "lab1": "n1", "lab2": "n2", "lab3": "n3",
    "arb1": "n1", "arb2": "n2", "planner": "n3",
}  # fmt: skip


def _spread_lab(make_lab: MakeLab, operator: str) -> Lab:
    """The 3-host pool on 3 NATS nodes, spread as HOMES says, every process connected to its
    own node (checked on the servers), the operator's commands going to `operator`."""
    lab = make_lab(
        hosts=HOSTS, timeout_s=CLUSTER_T, nats_nodes=3, arbiters=2, secured=True,
        homes={**HOMES, "operator": operator},
    )  # fmt: skip
    lab.wait_live()
    for host in HOSTS:
        on = lab.nats_server(HOMES[host])
        user = f"collector-{host}"
        lab.eventually(lambda: user in on.users(), 30, f"{host} connected to {on.name}")  # noqa: B023
    return lab


def _answered_with_a_leader(lab: Lab) -> None:
    """`haplan status` answers, from an arbiter that leads, every host live."""
    lab.wait_state(
        dict.fromkeys(HOSTS, "live"), {"Minion 1": ("lab1", "running")}, REJOIN_S,
        "status answered by a leader, every host live",
    )  # fmt: skip


def _through(lab: Lab, seconds: float) -> None:
    """For `seconds`: every `haplan status` is answered within the command's own deadlines
    (by the leader, or from the log while the quorum side elects one), and shows every host
    live."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = lab.status()
        assert status is not None, f"status not answered\n{lab.describe()}"
        hosts = {h["name"]: h["state"] for h in status["hosts"]}
        assert hosts == dict.fromkeys(HOSTS, "live"), f"{status}\n{lab.describe()}"
        time.sleep(1.0)


def test_an_isolated_node_fences_no_host_its_clients_fail_over(make_lab: MakeLab) -> None:
    """The node leading the event stream loses its cable for 3 T: the other two keep the
    quorum. The host and arbiter connected to the isolated node notice its silence by their
    pings and reconnect to a node of the quorum side (seen on that server), so no host is
    suspected, fenced or declared dead; `haplan status` through a quorum-side node is
    answered by a leader throughout; plugged back, the node rejoins and every event read
    before the cut is still in the log, at its sequence."""
    lab = _spread_lab(make_lab, operator="n1")
    isolated = lab.stream_leader()
    quorum = [n for n in lab.nats if n.name != isolated]
    lab.homes["operator"] = quorum[0].name
    [host] = [h for h in HOSTS if HOMES[h] == isolated]
    before = lab.log()
    cut_at = time.time()
    lab.isolate_nats(isolated)
    try:
        lab.eventually(
            lambda: any(f"collector-{host}" in n.users() for n in quorum), 30,
            f"{host}'s collector reconnected to a quorum-side node",
        )  # fmt: skip
        # Past T_dead for the hosts connected to the isolated node: time to be suspected.
        _through(lab, 3 * CLUSTER_T)
        _nobody_fenced(lab, cut_at)
    finally:
        lab.isolate_nats(isolated, False)
    lab.nats_server(isolated).wait_healthy(60)
    _answered_with_a_leader(lab)
    _kept(before, lab.log())
    _nobody_fenced(lab, cut_at)


def test_a_hung_node_fences_no_host_its_clients_fail_over(make_lab: MakeLab) -> None:
    """The node leading the event stream is frozen (SIGSTOP) for 2 T: its sockets stay open
    and nothing resets, so only the clients' pings, sized from T, tell them it stopped
    answering (nats-py's default would wait 2 minutes). The host connected to it reconnects
    to a node of the quorum side (seen on that server); no host is suspected, fenced or
    declared dead; `haplan status` through a quorum-side node is answered by a leader
    throughout; resumed, the node rejoins and every event read before is still in the log.
    (The host's collector log shows when it gave the node up; the test prints it.)"""
    lab = _spread_lab(make_lab, operator="n1")
    frozen = lab.stream_leader()
    quorum = [n for n in lab.nats if n.name != frozen]
    lab.homes["operator"] = quorum[0].name
    [host] = [h for h in HOSTS if HOMES[h] == frozen]
    before = lab.log()
    cut_at = time.time()
    lab.freeze_nats(frozen)
    try:
        lab.eventually(
            lambda: any(f"collector-{host}" in n.users() for n in quorum), 30,
            f"{host}'s collector reconnected to a quorum-side node",
        )  # fmt: skip
        print(f"{host} connected to the quorum side {time.time() - cut_at:.1f} s after the freeze")
        # Past T_dead for the host connected to the frozen node: time to be suspected.
        _through(lab, 2 * CLUSTER_T)
        _nobody_fenced(lab, cut_at)
    finally:
        lab.freeze_nats(frozen, False)
    lab.nats_server(frozen).wait_healthy(60)
    _answered_with_a_leader(lab)
    _kept(before, lab.log())
    _nobody_fenced(lab, cut_at)


def test_a_cut_route_fences_no_host(make_lab: MakeLab) -> None:
    """The route between the node leading the lease bucket and another node is cut for 3 T;
    each keeps its route to the third node and its clients. While the bucket's leader stays
    on its node, the host connected to the other node cannot renew its lease through that
    node (core NATS takes one hop between servers) and must move to a server that answers;
    a node cut from a group's leader also calls elections, which may stall every renewal for
    a while (a global bus outage). No host is suspected, fenced or declared dead;
    `haplan status` through the third node (which reaches both) is answered throughout, every
    host live; mended, every event read before the cut is still in the log."""
    lab = _spread_lab(make_lab, operator="n3")
    a = lab.stream_leader("KV_ha_leases")
    b, third = [n.name for n in lab.nats if n.name != a]
    lab.homes["operator"] = third
    before = lab.log()
    cut_at = time.time()
    lab.cut_route(a, b)
    try:
        _through(lab, 3 * CLUSTER_T)
        _nobody_fenced(lab, cut_at)
    finally:
        lab.cut_route(a, b, False)
    _answered_with_a_leader(lab)
    _kept(before, lab.log())
    _nobody_fenced(lab, cut_at)
