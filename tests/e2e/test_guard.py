"""The guard rail against mass suspicion on real processes (issue 14, docs/protocol.md "Guard
rail against mass suspicion"): three hosts, two of them cut off at once (network and storage
cables pulled). They fence on their own table but cannot say so, so the arbiter hears only
silence from two of three hosts: it engages the guard, declares no one dead on silence and
restarts nothing until the evidence clears (the cut hosts come back and rejoin)."""

from __future__ import annotations

import time
from typing import Any

from tests.e2e.conftest import MakeLab
from tests.e2e.lab import VM, Lab
from tests.e2e.outcomes import FAILOVER_S, REJOIN_S, T_DEAD, T, at, fenced_and_rebooted

HOSTS = ("lab1", "lab2", "lab3")
CUT = ("lab1", "lab2")


def _since(lab: Lab, kind: str, since: float) -> list[dict[str, Any]]:
    return [e for e in lab.events(kind) if at(e) > since]


def _held(lab: Lab, cut_at: float, seconds: float) -> None:
    """For `seconds`: `haplan status --json` shows the guard engaged over the cut hosts, and
    the log holds no declaration and no restart order made since the cut."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = lab.status()
        assert status is not None, f"status not answered\n{lab.describe()}"
        guard = status.get("guard")
        assert guard and sorted(guard["suspected"]) == list(CUT), f"{status}\n{lab.describe()}"
        assert guard["members"] == len(HOSTS)
        for kind in ("host_declared_dead", "vm_restart_ordered", "vm_started"):
            assert _since(lab, kind, cut_at) == [], f"{kind} while the guard holds"
        time.sleep(0.5)


def test_two_of_three_hosts_cut_off_engage_the_guard_until_they_rejoin(
    make_lab: MakeLab,
) -> None:
    """lab1 (running Minion 1) and lab2 lose network and storage at once. Each fences on its
    own table (its collector exits 75 and is started again, as a rebooted host that cannot
    join), and Minion 1's instance on lab1 stops writing. The arbiter appends
    `guard_engaged` naming both; `haplan status --json` shows the guard, and while it holds
    no host is declared dead and no VM is ordered to start, well past T_dead. Healed, the
    first host back is declared dead on its next incarnation's join (not on silence), the
    guard releases by itself (the other may then be judged on any rule), Minion 1 runs
    again and every host is live."""
    lab = make_lab(hosts=HOSTS, timeout_s=T, secured=True)
    lab.wait_live()
    starts = {h: lab.collectors[h].starts for h in CUT}
    cut_at = time.time()
    for host in CUT:
        lab.pull("network", host)
    for host in CUT:
        lab.pull("storage", host)
    engaged = lab.first_event("guard_engaged", FAILOVER_S)
    assert sorted(r["host"] for r in engaged["evidence"]["recent"]) == list(CUT)
    for host in CUT:
        fenced_and_rebooted(lab, host, starts[host])
    before = lab.writers()
    # Well past the time a declaration on silence takes (T_dead), with the guard shown.
    _held(lab, cut_at, 2 * T_DEAD + T)
    # Minion 1 died with lab1's fence and was started nowhere: its disk did not change.
    assert lab.writers() == before and {h for h, _, _ in before.values()} == {"lab1"}
    healed_at = time.time()
    for host in CUT:
        lab.heal("storage", host)
        lab.heal("network", host)
    released = lab.first_event("guard_released", REJOIN_S)
    assert at(released) > healed_at
    deads = [lab.first_event("host_declared_dead", REJOIN_S, host=host) for host in CUT]
    first = min(deads, key=lambda e: e["seq"])
    # The first cut host back is declared on its own word (its next incarnation's join): the
    # guard still held then. That leaves one suspect, the guard releases, and the other may
    # be judged by any rule, the timeout included (docs/protocol.md, "Release"), but never
    # on silence while the guard held.
    assert first["evidence"]["rule"] != "timeout", first
    assert released["seq"] > first["seq"]
    for dead in deads:
        assert at(dead) > healed_at
        if dead["evidence"]["rule"] == "timeout":
            assert dead["seq"] > released["seq"], dead
    lab.eventually(
        lambda: (
            (now := lab.state()) is not None
            and now[0] == dict.fromkeys(HOSTS, "live")
            and now[1][VM][1] == "running"
        ),
        REJOIN_S,
        "every host live again and Minion 1 running",
    )
    on = lab.state()[1][VM][0]  # type: ignore[index]
    assert on is not None
    lab.wait_writing(VM, on, FAILOVER_S, since_ns=int(healed_at * 1e9))
