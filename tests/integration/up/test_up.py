"""`haplan up` as a newcomer meets it: it starts the lab pool, another terminal finds it with no
flag (`haplan status`, `haplan fault`), a second `up` is refused, and Ctrl-C leaves no process
and no file behind."""

from __future__ import annotations

import json
import os
import signal
import socket
from pathlib import Path
from typing import Any

from tests.integration.up.harness import (
    ROOT,
    START_S,
    Up,
    haplan,
    private_env,
    short_tmp,
    writers,
)

LAB = ROOT / "schemas" / "examples" / "lab.yaml"


def test_up_shows_the_lab_live_and_ctrl_c_leaves_nothing_behind(up: Up) -> None:
    """Within seconds `haplan status --json`, run with no flag and no NATS_URL, shows the lab
    pool: both hosts live and Minion 1 running on lab1, its disk being written from lab1.
    After SIGINT up exits 0, and no process of the run (collectors, watchdogs, VMs, arbiter,
    planner, nats-server) and no file of its runtime directory remains."""
    up.wait_live()
    status = up.status()
    assert status["pool"] == "Lab pool" and status["ha_enabled"] is True
    assert status["leader"] == "up-arbiter"
    assert {host for host, _, _ in writers(up.disk()).values()} == {"lab1"}
    assert up.leftovers(), "the run's processes are visible while it runs"
    record = up.record
    assert record is not None
    nats_port = int(record.nats_url.rsplit(":", 1)[1])

    assert up.interrupt() == 0
    assert up.leftovers() == []
    assert not up.runtime.exists()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", nats_port)) != 0, "nats-server still listens"


def test_a_second_up_is_refused_and_unknown_hosts_are_bad_input(up: Up) -> None:
    """While one `up` runs, another in the same runtime directory exits 2 with one line that
    names the running one's pid; `haplan fault power lab9` exits 2 naming the pool's hosts,
    and pulls nothing."""
    record = up.started()
    second = haplan(up.env, "up", "--timeout", "3")
    assert second.returncode == 2
    assert len(second.stderr.strip().splitlines()) == 1
    assert f"already running (pid {record.pid}" in second.stderr
    wrong = up.haplan("fault", "power", "lab9")
    assert wrong.returncode == 2
    assert "unknown host 'lab9'" in wrong.stderr and "lab1, lab2" in wrong.stderr
    assert up.notes("lab9") == [] and all(
        "fault" not in n for n in up.notes("lab1") + up.notes("lab2")
    )


def test_fault_without_a_running_up_exits_69_with_a_hint() -> None:
    """`haplan fault` when no `up` runs for this user: exit 69 (unavailable), one line that
    says so and how to start one; `--json` changes nothing about that."""
    parent = short_tmp()
    try:
        for args in (("fault", "power", "lab1"), ("fault", "heal", "lab1", "--json")):
            done = haplan(private_env(parent), *args)
            assert done.returncode == 69, done.stderr
            assert "no haplan up is running" in done.stderr
            assert "haplan up" in done.stderr.split("(", 1)[1]
            assert len(done.stderr.strip().splitlines()) == 1
            assert done.stdout == ""
    finally:
        parent.rmdir()


def test_fault_json_reports_what_is_pulled(up: Up) -> None:
    """`haplan fault network lab1 --json` answers with the host, the fault and the cables now
    pulled; pulling it again changes nothing; heal plugs it back."""
    up.started()
    first = up.fault("network", "lab1")
    assert first == {"host": "lab1", "fault": "network", "changed": True, "pulled": ["network"],
                     "healed": []}  # fmt: skip
    assert up.fault("network", "lab1")["changed"] is False
    healed = up.fault("heal", "lab1")
    assert (healed["pulled"], healed["healed"]) == ([], ["network"])
    assert json.loads(up.haplan("fault", "heal", "lab1", "--json").stdout)["changed"] is False


def test_a_killed_arbiter_or_planner_is_started_again(up: Up) -> None:
    """SIGKILL the arbiter and the planner: up notes each unexpected exit, starts each again
    (a new pid), and the new arbiter leads the pool."""
    up.started()
    for member in ("arbiter", "planner"):
        first = up.eventually(lambda m=member: up.notes(m), 30, f"{member} started")
        os.kill(first[0]["pid"], signal.SIGKILL)
    for member in ("arbiter", "planner"):
        starts = up.eventually(
            lambda m=member: [n for n in up.notes(m) if "pid" in n][1:], 30, f"{member} again"
        )
        exits = [n for n in up.notes(member) if n.get("returncode") == -signal.SIGKILL]
        assert exits and "restarting" in exits[0]["text"]
        assert starts[0]["pid"] != up.notes(member)[0]["pid"]
    assert up.eventually(up.state, 30, "a leader answers again")


def test_up_with_a_pool_file_keeps_its_timeout_and_create_again_is_a_no_op(
    tmp_path: Path,
) -> None:
    """`haplan up POOL` without --timeout runs with the file's ha.timeout_s (4 s here: the log
    says so), so `haplan pool create POOL` from another terminal finds the same pool and does
    nothing (exit 0, created false), as the README says. Before, up forced T = 5 s and the
    create was refused ("differs in: ha")."""
    pool_file = tmp_path / "lab-4s.yaml"
    pool_file.write_text(LAB.read_text().replace("timeout_s: 30", "timeout_s: 4"))
    up = Up(timeout_s=None, pool_file=pool_file)
    try:
        up.started()
        exported = up.eventually(lambda: _exported(up), START_S, "the pool in the log")
        assert exported["ha"]["timeout_s"] == 4
        again = up.haplan("pool", "create", str(pool_file), "--json")
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["created"] is False
    finally:
        up.close()


def _exported(up: Up) -> dict[str, Any] | None:
    done = up.haplan("pool", "export", "--json")
    return json.loads(done.stdout) if done.returncode == 0 else None
