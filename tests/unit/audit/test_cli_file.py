"""`haplan audit ... --file`: offline audits of an export through the real entry point, with
no NATS anywhere: exit statuses, JSON, tables, and one-line errors."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from services.audit import Entry, encode_line
from services.cli import output
from services.cli.main import main
from tests.unit.audit.logs import failover_log, tampered, timeout_evidence


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def one_line_error(self) -> str:
        lines = self.err.strip().splitlines()
        assert len(lines) == 1, self.err
        assert "Traceback" not in self.err
        return lines[0]


@pytest.fixture
def haplan(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run `haplan ARGS` in process through main(), as the installed command does, with a
    NATS URL nobody listens on: an offline audit must not need it."""
    monkeypatch.setenv("NATS_URL", "nats://127.0.0.1:9")
    # The console is made when services.cli.output is first imported, by whichever test of
    # this worker came first: set its width itself, not only the COLUMNS it read back then.
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(output.console, "width", 200)

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


def write(path: Path, entries: list[Entry], *extra: bytes) -> Path:
    with path.open("wb") as f:
        for e in entries:
            f.write(encode_line(e.seq, e.event) + b"\n")
        for line in extra:
            f.write(line + b"\n")
    return path


def test_verify_of_a_faithful_export_exits_0(haplan: Any, tmp_path: Path) -> None:
    """Every decision agrees: exit 0, a summary table and the verdict; --json says ok."""
    log = write(tmp_path / "log.jsonl", failover_log().entries)
    shown = haplan("audit", "verify", "--file", log)
    assert shown.code == 0, shown.err
    assert "Decisions re-checked" in shown.out
    assert "All 8 decision(s) would be made again (9 event(s) replayed)." in shown.out
    data = haplan("audit", "verify", "--file", log, "--json").json()
    assert data["ok"] is True and data["events"] == 9 and data["differences"] == []


def test_verify_of_a_tampered_export_exits_1_naming_the_decision(
    haplan: Any, tmp_path: Path
) -> None:
    """One declaration whose lease silence is too short: exit 1, its sequence and what
    differs in the table and in the JSON."""
    bad = timeout_evidence(silent=20.0)
    log = write(tmp_path / "log.jsonl", tampered(failover_log().entries, 6, evidence=bad))
    shown = haplan("audit", "verify", "--file", log)
    assert shown.code == 1
    assert "Decisions that would not be made again" in shown.out
    assert "1 decision(s) would not be made again" in shown.out
    data = haplan("audit", "verify", "--file", log, "--json")
    assert data.code == 1
    [diff] = data.json()["differences"]
    assert (diff["seq"], diff["type"]) == (6, "host_declared_dead")
    assert "rule 'timeout' does not hold" in diff["problem"]


def test_unreadable_lines_are_counted_not_fatal(haplan: Any, tmp_path: Path) -> None:
    """Garbage and a line out of sequence are skipped, logged with their line number and
    counted; the rest of the log is audited."""
    entries = failover_log().entries
    out_of_order = encode_line(3, entries[2].event)
    log = write(tmp_path / "log.jsonl", entries, b"{not json", out_of_order)
    run = haplan("audit", "verify", "--file", log, "--json")
    assert run.code == 0
    assert run.json()["malformed"] == 2 and run.json()["events"] == 9
    logged = [json.loads(line) for line in run.err.splitlines() if line.startswith("{")]
    assert [(e["event"], e["line"]) for e in logged] == [
        ("unreadable line skipped", 10), ("unreadable line skipped", 11),
    ]  # fmt: skip
    assert "does not follow sequence 9" in logged[1]["reason"]
    assert "2 unreadable line(s) skipped" in run.err


def test_timeline_json_lines_and_filters(haplan: Any, tmp_path: Path) -> None:
    """--json prints one object per event; --vm keeps the events naming the VM."""
    log = write(tmp_path / "log.jsonl", failover_log().entries)
    run = haplan("audit", "timeline", "--file", log, "--json", "--vm", "Minion 1")
    assert run.code == 0, run.err
    rows = [json.loads(line) for line in run.out.splitlines()]
    assert [(r["seq"], r["type"]) for r in rows] == [
        (1, "pool_created"), (7, "vm_restart_ordered"), (8, "vm_started"),
    ]  # fmt: skip
    table = haplan("audit", "timeline", "--file", log, "--since", "2026-03-01T12:00:05Z")
    assert table.code == 0
    assert "host_declared_dead" in table.out and "host_suspected" not in table.out
    assert "Audit timeline" in table.out


def test_timeline_refuses_bad_times_in_one_line(haplan: Any, tmp_path: Path) -> None:
    """An unreadable --since, or --since after --until: exit 2, one line saying what to give."""
    log = write(tmp_path / "log.jsonl", failover_log().entries)
    bad = haplan("audit", "timeline", "--file", log, "--since", "last tuesday")
    assert bad.code == 2
    assert "--since: 'last tuesday' is not a time" in bad.one_line_error()
    crossed = haplan("audit", "timeline", "--file", log, "--since", "1h", "--until", "2h")
    assert crossed.code == 2
    assert "--since is after --until" in crossed.one_line_error()


def test_explain_tells_the_chain(haplan: Any, tmp_path: Path) -> None:
    """A tree with the verdict, the failure's evidence, the order's constraints; --json
    gives the same chain."""
    log = write(tmp_path / "log.jsonl", failover_log().entries)
    run = haplan("audit", "explain", "Minion 1", "--file", log)
    assert run.code == 0, run.err
    assert "It runs on lab2 since sequence 8" in run.out
    assert "slot: lab2 saw slot seq 812 not advance for 43 s" in run.out
    assert "memory: needs 4160 MiB, lab2 had 30720 MiB free" in run.out
    data = haplan("audit", "explain", "Minion 1", "--file", log, "--json").json()
    assert [s["role"] for s in data["chain"]] == [
        "suspected", "declared dead", "plan in effect", "ordered", "started",
    ]  # fmt: skip


def test_explain_of_an_unknown_vm_is_one_line_with_a_way_to_find_names(
    haplan: Any, tmp_path: Path
) -> None:
    """Exit 2, one line: the name, a close match if there is one, and how to list VMs; an
    empty export holds no log at all, which is said the same way."""
    log = write(tmp_path / "log.jsonl", failover_log().entries)
    run = haplan("audit", "explain", "minion 1", "--file", log)
    assert run.code == 2
    line = run.one_line_error()
    assert "unknown VM 'minion 1'" in line and "did you mean 'Minion 1'?" in line
    assert "haplan pool export" in line
    empty = haplan("audit", "explain", "Minion 1", "--file", write(tmp_path / "e.jsonl", []))
    assert empty.code == 2
    assert "holds no event log (it is empty)" in empty.one_line_error()


def test_bad_sources_are_one_line_errors(haplan: Any, tmp_path: Path) -> None:
    """A missing file, a directory, or --file with --nats: exit 2, one line, no traceback."""
    missing = haplan("audit", "verify", "--file", tmp_path / "nope.jsonl")
    assert missing.code == 2
    assert "cannot read the log file: No such file or directory" in missing.one_line_error()
    folder = haplan("audit", "timeline", "--file", tmp_path)
    assert folder.code == 2 and "is a directory" in folder.one_line_error()
    both = haplan("audit", "verify", "--file", tmp_path / "x", "--nats", "nats://127.0.0.1:9")
    assert both.code == 2 and "--file and --nats both given" in both.one_line_error()


def test_a_file_that_holds_no_log_is_exit_2_in_one_line(haplan: Any, tmp_path: Path) -> None:
    """A file with no event in it (a YAML file, an empty file) is not a log that passed: every
    audit command exits 2 with one line saying the file holds no event log, without a
    warning per line."""
    notyaml = tmp_path / "notyaml"
    notyaml.write_text("name: Lab pool\nhosts: []\n")
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    for path, why in ((notyaml, "none of its 2 line(s) is an event"), (empty, "it is empty")):
        for command in (("verify",), ("timeline",), ("explain", "Minion 1")):
            run = haplan("audit", *command, "--file", path)
            assert run.code == 2, (command, run.err)
            assert f"{path}: holds no event log ({why})" in run.one_line_error()
            assert run.out == ""


def test_unreadable_lines_before_the_first_event_are_still_reported(
    haplan: Any, tmp_path: Path
) -> None:
    """A log whose first line is garbage is still a log: the garbage line is logged (once the
    file shows events) and counted, and the audit goes on."""
    log = failover_log().entries
    path = tmp_path / "log.jsonl"
    with path.open("wb") as f:
        f.write(b"garbage\n")
        for e in log:
            f.write(encode_line(e.seq, e.event) + b"\n")
    run = haplan("audit", "verify", "--file", path, "--json")
    assert run.code == 0, run.err
    assert run.json()["malformed"] == 1 and run.json()["events"] == len(log)
    assert '"line": 1' in run.err and "unreadable line skipped" in run.err


def test_a_log_with_no_decision_says_so(haplan: Any, tmp_path: Path) -> None:
    """A log holding only the pool's creation has no decision to re-check: the verdict says
    that, not "All 0 decision(s) would be made again"; the JSON says 0 decisions."""
    path = write(tmp_path / "log.jsonl", failover_log().entries[:1])
    run = haplan("audit", "verify", "--file", path)
    assert run.code == 0, run.err
    assert "The log holds no decision to re-check (1 event(s) replayed)." in run.out
    assert "All 0" not in run.out
    assert haplan("audit", "verify", "--file", path, "--json").json()["decisions"] == 0


def test_plans_on_old_states_are_checked_in_a_second_pass_over_the_file(
    haplan: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a history of one event, a plan based on sequence 3 recorded at sequence 10 is
    checked by reading the file again: the wrong worst set is still named, and the
    unreadable line is counted once, not once per pass."""
    import functools
    import importlib

    from schemas.events import PlanComputed
    from services.audit import StateHistory

    short = functools.partial(StateHistory, window=1, every=1)
    # The package's `verify` function hides its module of the same name.
    verify_module = importlib.import_module("services.audit.verify")
    monkeypatch.setattr(verify_module, "StateHistory", short)
    log = failover_log()
    log.add(PlanComputed, based_on_seq=3, max_host_failures_to_tolerate=0, upper_bound=0,
            exact=True, worst_failure_set=("lab2",), host_failures_to_tolerate=1)  # fmt: skip
    path = write(tmp_path / "log.jsonl", log.entries, b"garbage")
    run = haplan("audit", "verify", "--file", path, "--json")
    assert run.code == 1
    data = run.json()
    assert {d["seq"] for d in data["differences"]} == {10}
    assert data["malformed"] == 1


def test_verify_accepts_an_export_written_before_signed_slots(haplan: Any, tmp_path: Path) -> None:
    """An export whose host_fenced and host_declared_dead are of schema version 1, their slot
    marks without a record (as every such mark was): exit 0, ok, and both marks listed as
    unconfirmed (nothing to check them against), not as differences."""
    lines = []
    for e in failover_log(fenced=True).entries:
        data = json.loads(encode_line(e.seq, e.event))
        if data["type"] in ("host_fenced", "host_declared_dead"):
            data["schema_version"] = 1
            mark = data["mark"] if "mark" in data else data["evidence"]["fenced_mark"]
            mark["record"] = None
        lines.append(json.dumps(data).encode())
    log = tmp_path / "old.jsonl"
    log.write_bytes(b"\n".join(lines) + b"\n")
    run = haplan("audit", "verify", "--file", log, "--json")
    assert run.code == 0, run.err
    data = run.json()
    assert data["ok"] is True and data["malformed"] == 0 and data["differences"] == []
    unsure = {(u["seq"], u["type"]) for u in data["unconfirmed"]}
    assert {(6, "host_fenced"), (7, "host_declared_dead")} <= unsure
