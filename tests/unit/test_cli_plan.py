"""`haplan plan`, `haplan what-if`, `haplan evacuate` through the real entry point: the JSON
contract of spec/planner.md, readable tables, and one-line errors with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from schemas import load_pool
from services.cli import plan as plan_module
from services.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "schemas" / "examples" / "lab.yaml"
TRAP = Path(__file__).parent / "fixtures" / "worst_fit_trap.yaml"

PLAN_KEYS = {
    "pool",
    "max_host_failures_to_tolerate",
    "exact",
    "upper_bound",
    "host_failures_to_tolerate",
    "overcommitted",
    "worst_failure_set",
}
RESTART_KEYS = {"failed_hosts", "placements", "not_restarted"}


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def haplan(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run `haplan ARGS` in process through main(), as the installed command does."""

    def run(*args: str | Path) -> Run:
        monkeypatch.setattr(sys, "argv", ["haplan", *map(str, args)])
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def assert_one_line_error(run: Run, *fragments: str) -> None:
    assert run.code == 2
    lines = run.err.splitlines()
    assert len(lines) == 1, run.err
    assert lines[0].startswith("haplan: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert run.out == ""


# --- plan -----------------------------------------------------------------------------------


def test_plan_json_has_the_contract_keys(haplan: Any) -> None:
    """`plan --json` prints one object with every key of the spec's contract."""
    run = haplan("plan", LAB, "--json")
    assert run.code == 0
    data = run.json()
    assert data.keys() >= PLAN_KEYS
    assert data["pool"] == "Lab pool"
    assert (data["max_host_failures_to_tolerate"], data["exact"], data["upper_bound"]) == (
        1,
        True,
        1,
    )
    assert (data["host_failures_to_tolerate"], data["overcommitted"]) == (1, False)
    assert data["worst_failure_set"] is None
    assert [h["name"] for h in data["hosts"]] == ["lab1", "lab2"]


def test_plan_exact_and_xapi_differ_on_the_worst_fit_trap(haplan: Any) -> None:
    """On the trap pool the exact planner proves 1 with a two-host certificate; the baseline
    answers 0, refutes nothing, and says where its packing gave up."""
    exact = haplan("plan", TRAP, "--json").json()
    assert (exact["max_host_failures_to_tolerate"], exact["exact"], exact["method"]) == (
        1,
        True,
        "exact",
    )
    assert len(exact["worst_failure_set"]) == 2
    xapi = haplan("plan", TRAP, "--json", "--method", "xapi").json()
    assert xapi.keys() >= PLAN_KEYS
    assert (xapi["max_host_failures_to_tolerate"], xapi["exact"], xapi["upper_bound"]) == (
        0,
        False,
        2,
    )
    assert (xapi["method"], xapi["overcommitted"], xapi["worst_failure_set"]) == (
        "xapi",
        True,
        None,
    )
    assert xapi["xapi_gave_up_at"] == {
        "failures": 1,
        "heuristic": "exhaustive",
        "failure_order": ["big1"],
    }


def test_plan_prints_readable_tables(haplan: Any) -> None:
    """Without --json: the hosts with their free memory, the answer, ntol and the certificate."""
    run = haplan("plan", TRAP)
    assert run.code == 0
    for text in (
        "Hosts",
        "big1",
        "small2",
        "6144",
        "max host failures to tolerate",
        "1 (exact)",
        "worst failure set",
        "configured (ntol)",
    ):
        assert text in run.out
    xapi = haplan("plan", TRAP, "--method", "xapi")
    assert "XenServer's planner gave up at 1 failure (" in xapi.out
    assert "failing big1" in xapi.out


def test_plan_with_json_on_a_terminal_prints_only_json(
    haplan: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A progress bar is for people: on a TTY with --json, stdout is still one JSON object."""
    monkeypatch.setattr(plan_module, "console", Console(file=sys.stdout, force_terminal=True))
    run = haplan("plan", TRAP, "--json")
    assert run.json()["max_host_failures_to_tolerate"] == 1


def test_plan_shows_progress_on_a_terminal_and_still_answers(
    haplan: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a TTY the table still comes out whole after the (transient) progress bar."""
    monkeypatch.setattr(plan_module, "console", Console(file=sys.stdout, force_terminal=True))
    run = haplan("plan", TRAP)
    assert run.code == 0
    assert "max host failures to tolerate" in run.out


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--method", "magic"], ["unknown method 'magic'", "--method exact"]),
        (["--work-limit", "0"], ["--work-limit must be a positive number"]),
    ],
)
def test_plan_bad_options_are_one_line(haplan: Any, args: list[str], fragments: list[str]) -> None:
    """A bad --method or --work-limit: exit 2, one line saying what to do."""
    assert_one_line_error(haplan("plan", LAB, *args), *fragments)


def test_plan_missing_pool_file_is_one_line(haplan: Any, tmp_path: Path) -> None:
    """A pool file that does not exist: exit 2, one line naming it."""
    assert_one_line_error(haplan("plan", tmp_path / "none.yaml"), "none.yaml", "cannot read")


# --- what-if --fail -------------------------------------------------------------------------


def test_what_if_fail_json_contract_and_a_valid_plan(haplan: Any) -> None:
    """`what-if --fail` prints failed_hosts, placements [{vm, host}] and not_restarted; the
    plan restarts all five VMs of big1 within each survivor's free memory."""
    data = haplan("what-if", TRAP, "--fail", "big1", "--json").json()
    assert data.keys() >= RESTART_KEYS
    assert data["failed_hosts"] == ["big1"]
    assert all(p.keys() >= {"vm", "host"} for p in data["placements"])
    pool = load_pool(TRAP)
    assert sorted(p["vm"] for p in data["placements"]) == sorted(
        v.name for v in pool.vms_on("big1")
    )
    for host in ("small1", "small2"):
        used = sum(pool.vm(p["vm"]).footprint for p in data["placements"] if p["host"] == host)
        assert used <= pool.free_mib(host)
    assert data["not_restarted"] == []


def test_what_if_gives_a_reason_for_every_vm_left_out(haplan: Any) -> None:
    """With big1 and small1 down, what does not fit on small2 is listed with a reason, in the
    JSON and in the table."""
    data = haplan("what-if", TRAP, "--fail", "big1,small1", "--json").json()
    assert data["failed_hosts"] == ["big1", "small1"]
    placed = {p["vm"] for p in data["placements"]}
    left = {n["vm"]: n["reason"] for n in data["not_restarted"]}
    assert placed | left.keys() == {"db 1", "db 2", "web 1", "web 2", "app 1", "scratch"}
    assert all("memory" in reason for reason in left.values())
    table = haplan("what-if", TRAP, "--fail", "big1", "--fail", "small1")
    assert "Restart plan for the failure of big1, small1" in table.out
    assert "Not restarted" in table.out and "insufficient memory" in table.out


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--fail", "big1,nope"], ["unknown host 'nope'", "big1, small1, small2"]),
        (["--fail", ","], ["--fail names no host"]),
        ([], ["nothing to ask", "--fail"]),
    ],
)
def test_what_if_bad_failure_sets_are_one_line(
    haplan: Any, args: list[str], fragments: list[str]
) -> None:
    """Unknown or missing hosts: exit 2 with one line naming the problem."""
    assert_one_line_error(haplan("what-if", TRAP, *args), *fragments)


# --- what-if changes ------------------------------------------------------------------------


def test_hypothetical_vm_lowers_max_failures(haplan: Any) -> None:
    """Adding a protected 4 GiB VM on small2 leaves too little room for big1's VMs: the
    hypothetical answer drops from 1 to 0, and the JSON carries the change and the before."""
    data = haplan("what-if", TRAP, "--add-vm", "extra:4096:restart:small2", "--json").json()
    assert data.keys() >= PLAN_KEYS
    assert data["before"]["max_host_failures_to_tolerate"] == 1
    assert data["max_host_failures_to_tolerate"] == 0
    assert data["overcommitted"] is True
    assert data["changes"] == ["add VM 'extra' (4096 MiB, restart, running on 'small2')"]


def test_changes_combine_with_a_failure(haplan: Any) -> None:
    """--set-ntol, --remove-vm, --set-priority and --add-host apply before --fail is planned."""
    data = haplan(
        "what-if",
        TRAP,
        "--set-ntol",
        "0",
        "--remove-vm",
        "app 1",
        "--set-priority",
        "db 2=",
        "--add-host",
        "spare:4096",
        "--fail",
        "big1",
        "--json",
    ).json()
    assert data.keys() >= RESTART_KEYS and data.keys() >= PLAN_KEYS
    assert data["host_failures_to_tolerate"] == 0
    vms = {p["vm"] for p in data["placements"]} | {n["vm"] for n in data["not_restarted"]}
    assert "app 1" not in vms
    assert {"vm": "db 2", "reason": "not protected: its ha_restart_priority is empty"} in data[
        "not_restarted"
    ]
    assert len(data["changes"]) == 4


def test_hypothetical_tables(haplan: Any) -> None:
    """Without --json: the changes, the answer before and after."""
    run = haplan("what-if", TRAP, "--remove-host", "small2")
    assert run.code == 0
    for text in ("Changes", "remove host 'small2'", "Before the changes", "After the changes"):
        assert text in run.out


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--add-vm", "lonely"], ["--add-vm 'lonely'", "NAME:MEMORY_MIB"]),
        (["--add-vm", "x:lots"], ["'lots' is not a whole number of MiB"]),
        (["--add-vm", "x:0"], ["memory must be at least 1 MiB"]),
        (["--add-vm", "x:64:always"], ["unknown priority 'always'", "best-effort"]),
        (["--add-vm", "x:64:restart:mars"], ["'x'", "'mars'", "not in the pool"]),
        (["--add-vm", "x:999999:restart:small2"], ["host 'small2' is over capacity"]),
        (["--add-vm", "db 1:64"], ["duplicate VM name 'db 1'"]),
        (["--add-host", "h:1:2:3"], ["NAME:MEMORY_MIB[:RESERVED_MIB]"]),
        (["--add-host", "h:64:-1"], ["at least 0 MiB"]),
        (["--remove-vm", "ghost"], ["unknown VM 'ghost'"]),
        (["--remove-host", "ghost"], ["unknown host 'ghost'"]),
        (["--set-priority", "db 1"], ["expected NAME=PRIORITY"]),
        (["--set-priority", "ghost=restart"], ["unknown VM 'ghost'"]),
        (["--set-ntol", "3"], ["host_failures_to_tolerate is 3", "between 0 and 2"]),
    ],
)
def test_bad_changes_are_one_line(haplan: Any, args: list[str], fragments: list[str]) -> None:
    """Malformed or impossible changes: exit 2, one line naming the option, VM or host."""
    assert_one_line_error(haplan("what-if", TRAP, *args), *fragments)


def test_entry_point_error_has_no_traceback() -> None:
    """The installed command (a real process): an unknown host is one stderr line, exit 2."""
    done = subprocess.run(
        [sys.executable, "-m", "services.cli.main", "what-if", str(TRAP), "--fail", "mars"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "unknown host 'mars'" in done.stderr
    assert "Traceback" not in done.stderr


# --- evacuate -------------------------------------------------------------------------------

EVACUATION_KEYS = {"host", "possible", "moves", "cannot_move", "capacity_after", "ntol_holds"}

STUCK = """\
name: Stuck
hosts:
  - {name: a, memory_mib: 8192}
  - {name: b, memory_mib: 4096}
vms:
  - {name: big, memory_mib: 6144, host: a, ha_restart_priority: restart}
  - {name: local, memory_mib: 1024, host: a, ha_restart_priority: best-effort, agile: false}
  - {name: small, memory_mib: 512, host: a}
"""


def test_evacuation_json_contract_and_valid_moves(haplan: Any) -> None:
    """big1's 12 GiB of VMs fill small1 and small2 exactly (the packing worst fit misses): the
    evacuation is possible (exit 0), every move fits, and without big1 the pool tolerates no
    failure, so the configured ntol of 1 does not hold during the maintenance."""
    run = haplan("evacuate", TRAP, "big1", "--json")
    assert run.code == 0
    data = run.json()
    assert data.keys() >= EVACUATION_KEYS
    assert (data["pool"], data["host"], data["possible"]) == ("Worst-fit trap", "big1", True)
    pool = load_pool(TRAP)
    assert {m["vm"] for m in data["moves"]} == {v.name for v in pool.vms_on("big1")}
    for host in ("small1", "small2"):
        used = sum(pool.vm(m["vm"]).footprint for m in data["moves"] if m["host"] == host)
        assert used <= pool.free_mib(host)
    assert data["cannot_move"] == []
    assert data["capacity_after"]["max_host_failures_to_tolerate"] == 0
    assert data["ntol_holds"] is False


def test_evacuation_reports_the_configured_ntol(haplan: Any) -> None:
    """The lab pool is configured with ntol 1; without lab1 it absorbs no failure. `haplan
    evacuate` says the configured 1 does not hold (JSON and table), not "ntol 0 met"."""
    run = haplan("evacuate", "schemas/examples/lab.yaml", "lab1", "--json")
    assert run.code == 0
    after = run.json()["capacity_after"]
    assert (after["host_failures_to_tolerate"], after["overcommitted"]) == (1, True)
    assert run.json()["ntol_holds"] is False
    table = haplan("evacuate", "schemas/examples/lab.yaml", "lab1")
    assert "1: overcommitted" in table.out and "0: met" not in table.out
    assert "no longer holds" in table.out


def test_evacuation_that_cannot_be_done_exits_1_with_reasons(haplan: Any, tmp_path: Path) -> None:
    """A VM too big for the other host and a VM with local disks cannot move: not possible,
    exit 1, each with its reason; what can move is still listed."""
    pool_file = tmp_path / "stuck.yaml"
    pool_file.write_text(STUCK)
    run = haplan("evacuate", pool_file, "a", "--json")
    assert run.code == 1
    data = run.json()
    assert data["possible"] is False
    assert data["moves"] == [{"vm": "small", "host": "b"}]
    reasons = {n["vm"]: n["reason"] for n in data["cannot_move"]}
    assert reasons.keys() == {"big", "local"}
    assert "memory" in reasons["big"] and "agile" in reasons["local"]
    table = haplan("evacuate", pool_file, "a")
    assert table.code == 1
    assert "Evacuation of a: NOT possible" in table.out and "Cannot move" in table.out


def test_evacuation_tables(haplan: Any) -> None:
    """Without --json: the verdict, the moves and the pool's capacity once the host is empty."""
    run = haplan("evacuate", TRAP, "small1")
    assert run.code == 0
    for text in ("Evacuation of small1: possible", "scratch", "small2",
                 "The pool once small1 is empty", "no longer holds"):  # fmt: skip
        assert text in run.out


def test_evacuating_an_unknown_host_is_one_line(haplan: Any) -> None:
    """An unknown host: exit 2, one line naming it and the pool's hosts."""
    assert_one_line_error(haplan("evacuate", TRAP, "mars"), "unknown host 'mars'", "big1")
