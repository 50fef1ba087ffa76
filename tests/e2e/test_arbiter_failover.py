"""The arbiter leader killed in the middle of a restart: the standby finishes it."""

from __future__ import annotations

import time
from typing import Any

from tests.e2e.conftest import MakeLab
from tests.e2e.lab import article_pool
from tests.e2e.outcomes import FAILOVER_S, T, at, restarted_elsewhere

# Minion 1 restarts first, then a start delay long enough to kill the leader in it, also on
# a loaded machine (the test sees vm_started through `haplan` commands), then Minion 2: the
# restart is half done when the leader dies. It costs nothing when the test passes: the new
# leader orders Minion 2 after its own T_dead, with no delay in flight.
START_DELAY_S = 20.0


def _two_vm_pool() -> dict[str, Any]:
    pool = article_pool(("lab1", "lab2"), T)
    minion = pool["vms"][0]
    pool["vms"] = [
        {**minion, "order": 0, "start_delay_s": START_DELAY_S},
        {**minion, "name": "Minion 2", "order": 1},
    ]
    return pool


def test_the_standby_finishes_a_restart_the_killed_leader_began(make_lab: MakeLab) -> None:
    """Two arbiters; lab1 (Minion 1, then Minion 2 in the next restart order) loses its
    power. Right after Minion 1 starts on lab2, inside its start delay, the leader is
    killed. The standby is elected and orders Minion 2; each VM is ordered and started once
    after the failure (the log and the disks agree), Minion 2 by the new leader."""
    lab = make_lab(pool=_two_vm_pool(), arbiters=2, secured=True)
    lab.wait_live()
    lab.wait_writing("Minion 2", "lab1", FAILOVER_S)
    first = lab.eventually(lab.leader, FAILOVER_S, "a leader")
    pulled_at = time.time()
    lab.pull("power", "lab1")
    started = lab.first_event("vm_started", FAILOVER_S, vm="Minion 1", host="lab2")
    assert started
    lab.services[first].power_off()
    # The leader died in the middle of the restart: before it ordered Minion 2. Told by the
    # order's epoch, not by its absence: on a loaded machine the standby may be elected and
    # order Minion 2 before this command reads the log (the killed leader's lease expires
    # within seconds, a `haplan` command under load takes as long).
    killed = {e["epoch"] for e in lab.events("leader_elected", arbiter=first)}
    orders = lab.events("vm_restart_ordered", vm="Minion 2", host="lab2")
    assert killed and [o for o in orders if o["epoch"] in killed] == [], orders

    restarted_elsewhere(lab, "dead", since_ns=int(pulled_at * 1e9), vm="Minion 2")

    def new_leader() -> str | None:
        now = lab.leader()
        return now if now not in (None, first) else None

    assert lab.eventually(new_leader, 30, "the standby leads") != first
    elected = lab.events("leader_elected")
    assert len(elected) == 2
    [order] = lab.events("vm_restart_ordered", vm="Minion 2", host="lab2")
    assert order["epoch"] == elected[-1]["epoch"] > elected[0]["epoch"]
    for vm in ("Minion 1", "Minion 2"):
        after = [e for e in lab.events("vm_started", vm=vm) if at(e) > pulled_at]
        assert [e["host"] for e in after] == ["lab2"], (vm, after)
        on_lab2 = [i for i, (h, first_ns, _) in lab.writers(vm).items() if h == "lab2"]
        assert len(on_lab2) == 1, (vm, lab.writers(vm))
