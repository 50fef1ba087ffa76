"""Issue 13's forged evidence with lab2's own credential, on the real-fault lab with the
shipped NATS permissions: lab2's collector user may publish on `ha.sto.lab2`, and does, for 50
intervals, readings saying lab1's slot shows lab1 fenced or a new incarnation of lab1 (signed
with lab2's key, or lab1's genuine record rewritten). lab1 keeps its place: never fenced nor
declared dead, Minion 1 never starts on lab2 (its disk log: one writer, lab1's), and the
arbiter logs the forgery against lab2. Before signed slots this was a split brain in 7 of 7
runs."""

from __future__ import annotations

import subprocess
import sys

from tests.e2e.conftest import MakeLab
from tests.e2e.lab import ROOT, VM
from tests.e2e.outcomes import T

ROUNDS = 50
EVERY_S = T / 10  # the heartbeat interval


def test_lab2s_credential_forging_lab1s_death_changes_nothing(make_lab: MakeLab) -> None:
    """See the module's docstring; the forger exits 0 (the server took every publish)."""
    lab = make_lab(hosts=("lab1", "lab2"), timeout_s=T, secured=True)
    lab.wait_live()
    forger = subprocess.run(
        [*lab.ctl.enter(), sys.executable, "-m", "tests.e2e.forger", str(lab.shared / "ha"),
         str(lab.key_path("lab2")), str(ROUNDS), str(EVERY_S)],
        cwd=ROOT, env=lab.env("collector-lab2"), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert forger.returncode == 0, forger.stderr

    def logged() -> bool:
        text = (lab.logs / "arb1.log").read_text(errors="replace")
        return "forged store reading ignored" in text and '"observer": "lab2"' in text

    assert lab.eventually(logged, 30, "the arbiter logs lab2's forgery")
    assert lab.events("host_fenced", host="lab1") == []
    assert lab.events("host_declared_dead", host="lab1") == []
    assert lab.events("vm_started", vm=VM, host="lab2") == []
    assert {host for host, _, _ in lab.writers().values()} == {"lab1"}
    assert lab.split_brains() == {}
