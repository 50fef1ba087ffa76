"""`haplan sim` through the real entry point: the JSON contract of spec/cli.md, exit 1 on a
violation with its seed and trace, --report figures, and one-line errors with exit 2."""

from __future__ import annotations

import functools
import json
import sys
from dataclasses import dataclass
from typing import Any

import pytest

from services.cli import sim as sim_command
from services.cli.main import main
from services.collector.table import FENCE_TABLE, Row, StaysOnlyIf
from services.common.timers import Timers
from services.sim.batch import Variant, random_batch


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

    def run(*args: str) -> Run:
        monkeypatch.setattr(sys, "argv", ["haplan", *args])
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def test_json_reports_schedules_violations_and_seed(haplan: Any) -> None:
    """`--json` prints one object with at least schedules, violations and seed; exit 0."""
    run = haplan("sim", "--schedules", "40", "--seed", "7", "--json")
    assert run.code == 0, run.err
    data = run.json()
    assert (data["schedules"], data["violations"], data["seed"]) == (40, 0, 7)
    assert "first_violation" not in data


def test_a_violation_exits_1_with_the_seed_and_a_trace(
    haplan: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a broken table plugged into the simulator, the command exits 1 and the JSON names
    the first failing seed, its shrunk schedule and the trace ending in the violation."""
    broken = dict(FENCE_TABLE)
    broken[(True, True)] = Row(StaysOnlyIf.NEVER, "broken on purpose")
    monkeypatch.setattr(
        sim_command,
        "random_batch",
        functools.partial(random_batch, variant=Variant(table=broken)),
    )
    run = haplan("sim", "--schedules", "5", "--seed", "3", "--json")
    assert run.code == 1
    data = run.json()
    assert data["violations"] == 5
    first = data["first_violation"]
    assert first["seed"] == 3 and first["invariant"] == 3
    assert first["shrunk_violation"].startswith("invariant 3 broken")
    assert first["trace"][-1].endswith(first["shrunk_violation"])
    assert len(first["shrunk_schedule"]["faults"]) <= len(first["schedule"]["faults"])


def test_a_violation_is_explained_in_words_without_json(
    haplan: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --json: the summary table, the violation, how to reproduce it, the trace."""
    broken = dict(FENCE_TABLE)
    broken[(True, True)] = Row(StaysOnlyIf.NEVER, "broken on purpose")
    monkeypatch.setattr(
        sim_command,
        "random_batch",
        functools.partial(random_batch, variant=Variant(table=broken)),
    )
    run = haplan("sim", "--schedules", "3", "--seed", "11", "--hosts", "3")
    assert run.code == 1
    assert "Fault simulation" in run.out
    assert "invariant 3 broken" in run.out
    assert "haplan sim --seed 11 --schedules 1 --timeout 30 --hosts 3" in run.out
    assert "trace of the shrunk schedule" in run.out


def test_summary_without_json(haplan: Any) -> None:
    """A clean run prints the summary table and says every invariant held."""
    run = haplan("sim", "--schedules", "10", "--hosts", "2", "--timeout", "10")
    assert run.code == 0, run.err
    assert "Fault simulation" in run.out and "Every invariant held" in run.out


def test_report_times_each_fault_for_three_timeouts(haplan: Any) -> None:
    """`--report --json`: for power, storage, network and hang at T = 3, 10, 30 s, the time to
    lab1 declared dead and to the restart ordered; the fast paths beat T_dead, power waits
    (from the last renewal and slot advance the leader saw)."""
    run = haplan("sim", "--report", "--json")
    assert run.code == 0, run.err
    rows = run.json()["report"]
    assert {(r["fault"], r["timeout_s"]) for r in rows} == {
        (f, t) for f in ("power", "storage", "network", "hang") for t in (3.0, 10.0, 30.0)
    }
    for r in rows:
        assert r["ok"] and r["restart_ordered_after_s"] >= r["declared_dead_after_s"] > 0
        if r["fault"] in ("storage", "network"):
            assert r["declared_dead_after_s"] < r["t_dead_s"]
        else:
            # T_dead after the leader last saw lab1's renewal and its slot advance (its own
            # reading of the store): at most an interval before the fault.
            interval = Timers.from_timeout(r["timeout_s"]).interval_s
            assert r["declared_dead_after_s"] >= r["t_dead_s"] - interval


def test_report_table(haplan: Any) -> None:
    """Without --json the figures are a table."""
    run = haplan("sim", "--report")
    assert run.code == 0, run.err
    assert "declared" in run.out and "ordered" in run.out and "storage" in run.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--hosts", "1"), "--hosts 1: a pool needs at least 2 hosts"),
        (("--exhaustive", "--hosts", "4"), "--exhaustive covers 2 or 3 hosts, not 4"),
        (("--timeout", "0"), "--timeout must be a positive number"),
        (("--schedules", "0"), "--schedules must be at least 1"),
        (("--workers", "-1"), "--workers must be 0"),
    ],
)
def test_bad_options_are_one_line_errors(haplan: Any, args: tuple[str, ...], message: str) -> None:
    """Bad input: exit 2, one line on stderr saying what is wrong, nothing on stdout."""
    run = haplan("sim", *args)
    assert run.code == 2
    assert run.out == ""
    lines = run.err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
