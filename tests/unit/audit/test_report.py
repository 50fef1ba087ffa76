"""`haplan audit report`: the report of a recorded failover (lab1's power pulled, Minion 1
restarted on lab2), built by the pure fold-based builder, its HTML page (self-contained:
nothing loaded from elsewhere), and the command on an export file."""

from __future__ import annotations

from html.parser import HTMLParser
from itertools import pairwise
from pathlib import Path
from typing import Any

from schemas.events import HostJoined, VMCreated
from schemas.pool import VM
from services.audit.report import Report, build_report
from services.cli.audit.report_page import page
from tests.fixtures.events import join_record
from tests.unit.audit.logs import LogBuilder, failover_log
from tests.unit.audit.test_cli_file import haplan, write

__all__ = ["haplan"]  # the fixture, used by name


def _failover() -> LogBuilder:
    """The failover, then a VM created on lab2 that never moves, then lab1 back (a new
    incarnation joins)."""
    log = failover_log()
    log.add(VMCreated, spec=VM(name="idle", memory_mib=512, host="lab2"))
    log.add(HostJoined, host="lab1", incarnation="boot-2", record=join_record("lab1", "boot-2"))
    return log


def _lane(report: Report, lane: str) -> list[str]:
    return [s.label for s in sorted(report.spans, key=lambda s: s.start) if s.lane == lane]


def test_lanes_follow_each_host_and_the_vm_that_moved() -> None:
    """lab1 goes joining, live, suspected, dead, live again; lab2 joining then live; Minion 1
    runs on lab1, is ordered to lab2 and runs there; the VM that never moved has no lane.
    Each lane's spans follow one another without gap, over the whole log."""
    report = build_report(_failover().entries)
    assert report.moved == ("Minion 1",) and report.hosts == ("lab1", "lab2")
    assert _lane(report, "host lab1") == ["joining", "live", "suspected", "dead", "live"]
    assert _lane(report, "host lab2") == ["joining", "live"]
    assert _lane(report, "VM Minion 1") == ["on lab1", "starting on lab2", "on lab2"]
    assert _lane(report, "VM idle") == []
    for lane in ("host lab1", "VM Minion 1"):
        spans = sorted((s for s in report.spans if s.lane == lane), key=lambda s: s.start)
        assert all(a.end == b.start for a, b in pairwise(spans))
        assert spans[-1].end == report.end


def test_decisions_are_markers_with_their_evidence() -> None:
    """The suspicion and the declaration sit on lab1's lane with their evidence (the rule,
    the lease's silence); the order and the start on Minion 1's; nothing for idle."""
    report = build_report(_failover().entries)
    marks = {(m.lane, m.type): m for m in report.markers}
    dead = dict(marks[("host lab1", "host_declared_dead")].facts)
    assert dead["rule"] == "timeout" and dead["lease silent for"] == "43 s (T_dead 42 s)"
    suspected = dict(marks[("host lab1", "host_suspected")].facts)
    assert suspected["lease silent for"] == "31 s (T 30 s)"
    assert ("VM Minion 1", "vm_restart_ordered") in marks and ("VM Minion 1", "vm_started") in marks
    assert not any(m.lane == "VM idle" for m in report.markers)
    assert [m.seq for m in report.markers] == sorted(m.seq for m in report.markers)


def test_max_failures_over_time_and_the_explanations() -> None:
    """The plan said 1 before the failure and 0 after it, against the configured 1; Minion
    1's explanation is the one kept, its verdict naming the restart on lab2."""
    report = build_report(_failover().entries)
    assert [(p.max_failures, p.configured) for p in report.capacity] == [(1, 1), (0, 1)]
    [x] = report.explanations
    assert x.vm == "Minion 1" and x.host == "lab2" and "restarted after lab1" in x.verdict


class _Loads(HTMLParser):
    """Every attribute of an element that would load or link something."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.scripts += tag == "script"
        self.refs += [v or "" for k, v in attrs if k in ("src", "href", "data", "srcset")]


def test_the_page_is_self_contained_and_shows_the_evidence() -> None:
    """No element of the page loads or links anything (no src or href at all, so no CDN),
    Plotly's JavaScript is inlined, the evidence is in the hover texts and Minion 1's
    explanation is on the page."""
    html = page(build_report(_failover().entries))
    loads = _Loads()
    loads.feed(html)
    assert loads.refs == [] and loads.scripts >= 2
    assert len(html) > 1_000_000  # plotly.min.js, inlined
    assert "rule: timeout" in html and "lease silent for: 43 s (T_dead 42 s)" in html
    assert "<h3>Minion 1</h3>" in html and "restarted after lab1" in html


def test_audit_report_writes_the_page_from_an_export(haplan: Any, tmp_path: Path) -> None:
    """`haplan audit report --file LOG -o FILE` writes the page and says what it holds; a
    file that holds no log is one line and exit 2, and no page is written."""
    log = write(tmp_path / "log.jsonl", _failover().entries)
    out = tmp_path / "report.html"
    shown = haplan("audit", "report", "--file", log, "-o", out, "--json")
    assert shown.code == 0, shown.err
    assert shown.json() == {"output": str(out), "events": 11, "hosts": ["lab1", "lab2"],
                            "moved": ["Minion 1"], "markers": 7}  # fmt: skip
    assert out.read_text(encoding="utf-8").startswith("<!doctype html>")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    bad = haplan("audit", "report", "--file", empty, "-o", tmp_path / "no.html")
    assert bad.code == 2 and "holds no event" in bad.one_line_error()
    assert not (tmp_path / "no.html").exists()
    missing = haplan("audit", "report", "--file", log)
    assert missing.code == 2 and "'-o'" in missing.one_line_error()
