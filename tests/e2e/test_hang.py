"""A hung host: lab1's collector frozen (SIGSTOP) while Minion 1 runs there. Only the
process watchdog, which the frozen collector no longer pets, can stop Minion 1 in time."""

from __future__ import annotations

from tests.e2e.conftest import MakeLab
from tests.e2e.lab import VM
from tests.e2e.outcomes import FAILOVER_S, T, at, fenced_and_rebooted, rejoined, restarted_elsewhere


def test_hang_the_watchdog_kills_minion_1_before_lab1_is_declared_dead(
    make_lab: MakeLab,
) -> None:
    """Freeze lab1's collector: its watchdog kills Minion 1 on lab1, so lab1's last write
    to Minion 1's disk comes before the arbiter declares lab1 dead (by timeout: a frozen
    host says nothing), and only then does Minion 1 run on lab2. Thawed, the collector finds
    its proofs expired, fences (exit 75), reboots and rejoins."""
    lab = make_lab(timeout_s=T, secured=True)
    lab.wait_live()
    lab.pull("hang", "lab1")
    dead = lab.first_event("host_declared_dead", FAILOVER_S, host="lab1")
    assert dead["evidence"]["rule"] == "timeout"
    lab1_last = max(last for h, _, last in lab.writers().values() if h == "lab1")
    assert lab1_last < at(dead) * 1e9
    assert "watchdog[lab1]: not petted" in (lab.logs / "collector-lab1.log").read_text()
    restarted_elsewhere(lab, "dead", since_ns=lab1_last)
    new_on_lab2 = [i for i, (h, first, _) in lab.writers().items() if h == "lab2"]
    assert all(lab.writers()[i][1] > lab1_last for i in new_on_lab2)
    starts = lab.collectors["lab1"].starts
    lab.heal("hang", "lab1")
    fenced_and_rebooted(lab, "lab1", starts)
    rejoined(lab, {VM: "lab2"})
