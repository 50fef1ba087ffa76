"""The article's three experiments on real processes, real sockets and real mounts: in the
2-host lab pool and in a 3-host pool, pull lab1's power, its storage cable or its network
cable while Minion 1 runs there. Each time Minion 1 runs again on another host, as in the
article, lab1 comes back into the liveset once healed, and (checked by the lab fixture)
Minion 1's disk never had two writers at once and audit verify reproduces every decision.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.e2e.conftest import MakeLab
from tests.e2e.lab import VM, Fault, Lab
from tests.e2e.outcomes import (
    FAILOVER_S,
    T_DEAD,
    T,
    at,
    fenced_and_rebooted,
    rejoined,
    restarted_elsewhere,
)

# The 2-host lab on NATS with the shipped users and permissions (deploy/nats, issue 7); the
# same pool without them is `haplan up`'s, whose real processes meet the same three faults in
# tests/integration/up/test_faults.py.
LABS: dict[str, dict[str, Any]] = {
    "2 hosts, permissions": {"hosts": ("lab1", "lab2"), "secured": True},
    "3 hosts": {"hosts": ("lab1", "lab2", "lab3")},
}


def _lab1_fences(lab: Lab, fault: Fault) -> str:
    """Pull `fault` on lab1: its collector fences (exit 75) and reboots, lab1 is declared
    dead on its fenced mark, and Minion 1 runs on a survivor; that survivor."""
    starts = lab.collectors["lab1"].starts
    pulled_ns = time.time_ns()
    lab.pull(fault, "lab1")
    fenced_and_rebooted(lab, "lab1", starts)
    dead = lab.first_event("host_declared_dead", FAILOVER_S, host="lab1")
    assert dead["evidence"]["rule"] == "fenced"
    return restarted_elsewhere(lab, "dead", since_ns=pulled_ns)


@pytest.mark.parametrize("kind", LABS.values(), ids=LABS.keys())
def test_power_lab1_is_declared_dead_by_timeout_and_minion_1_restarts(
    make_lab: MakeLab, kind: dict[str, Any]
) -> None:
    """Pull lab1's power (every process in its namespace killed, kept off): the arbiter
    declares lab1 dead by timeout, no sooner than T_dead after the pull, Minion 1 runs on a
    survivor and lab1 never wrote its disk after the pull. Powered on, lab1 rejoins empty."""
    lab = make_lab(**kind, timeout_s=T)
    lab.wait_live()
    pulled_at = time.time()
    lab.pull("power", "lab1")
    off_at = time.time()  # the pull returns once no process is left in lab1's namespace
    dead = lab.first_event("host_declared_dead", FAILOVER_S, host="lab1")
    assert dead["evidence"]["rule"] == "timeout"
    assert at(dead) - pulled_at >= T_DEAD - 0.5
    on = restarted_elsewhere(lab, "dead", since_ns=int(pulled_at * 1e9))
    lab1_last = max(last for h, _, last in lab.writers().values() if h == "lab1")
    assert lab1_last / 1e9 < off_at, "lab1 wrote once off"
    lab.heal("power", "lab1")
    rejoined(lab, {VM: on})


@pytest.mark.parametrize("kind", LABS.values(), ids=LABS.keys())
def test_storage_lab1_fences_and_cannot_join_until_healed(
    make_lab: MakeLab, kind: dict[str, Any]
) -> None:
    """Pull lab1's storage cable (its bindfs killed: ENOTCONN on its store and on Minion
    1's disk): lab1 fences because the others still see the store, its collector exits 75
    and reboots, lab1 is declared dead on its fenced mark and Minion 1 runs on a survivor.
    Until healed, lab1's host status says it cannot join the liveset because the heartbeat
    store is not reachable; plugged back, it rejoins."""
    lab = make_lab(**kind, timeout_s=T)
    lab.wait_live()
    on = _lab1_fences(lab, "storage")

    def why_out() -> str | None:
        status = lab.host_status("lab1")
        text = str(status)
        return text if "heartbeat store is not reachable" in text else None

    assert "cannot join the liveset" in lab.eventually(why_out, FAILOVER_S, "lab1's reason")
    lab.heal("storage", "lab1")
    rejoined(lab, {VM: on})


@pytest.mark.parametrize("kind", LABS.values(), ids=LABS.keys())
def test_network_lab1_fences_and_minion_1_restarts(make_lab: MakeLab, kind: dict[str, Any]) -> None:
    """Pull lab1's network cable (its link down): lab1 cannot renew its lease (the others
    hold the NATS quorum), so it fences, writes `fenced` in its slot on the store it still
    reaches and exits 75; the arbiter declares it dead on that mark and Minion 1 runs on a
    survivor. Plugged back, lab1 rejoins."""
    lab = make_lab(**kind, timeout_s=T)
    lab.wait_live()
    on = _lab1_fences(lab, "network")
    lab.heal("network", "lab1")
    rejoined(lab, {VM: on})
