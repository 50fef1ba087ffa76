"""`haplan status` shows the guard against mass suspicion while it holds (docs/protocol.md):
the status object's `guard` (null when released) and a line under the pool line."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from schemas.events import GuardEngaged, GuardReleased, HostJoined, PoolCreated
from schemas.liveness import GuardEvidence, GuardReleaseEvidence, RecentSuspicion
from services.cli.operator_tables import status_view
from services.cli.status import log_status
from services.state import fold
from tests.fixtures.events import lab_pool, later, make

ENGAGED = GuardEvidence(
    recent=(
        RecentSuspicion(host="lab1", suspected_for_s=0.5),
        RecentSuspicion(host="lab2", suspected_for_s=2.0),
    ),
    members=2,
    share=0.5,
    timeout_s=30.0,
)


def _render(items: list[Any]) -> str:
    console = Console(file=io.StringIO(), width=200, record=True, color_system=None)
    for item in items:
        console.print(item)
    return console.export_text()


def _log(*extra: Any) -> list[Any]:
    return [
        make(PoolCreated, epoch=0, pool=lab_pool()),
        make(HostJoined, host="lab1", incarnation="lab1-a"),
        make(HostJoined, host="lab2", incarnation="lab2-a"),
        make(GuardEngaged, at=later(40), evidence=ENGAGED),
        *extra,
    ]


def test_status_shows_the_guard_while_it_holds() -> None:
    """After guard_engaged: `guard` names the hosts, the share, the members and since when,
    and the tables say that nobody is declared dead on silence."""
    status = log_status(fold(_log()))
    guard = status["guard"]
    assert guard["suspected"] == ["lab1", "lab2"]
    assert (guard["members"], guard["share"]) == (2, 0.5)
    assert guard["engaged_at"] == later(40).isoformat()
    text = _render(status_view(status))
    assert "Guard engaged" in text and "lab1, lab2" in text
    assert "no host is declared dead on silence" in text


def test_status_shows_no_guard_once_released() -> None:
    """After guard_released the status object's `guard` is null and no line is shown."""
    released = make(GuardReleased, evidence=GuardReleaseEvidence(suspects=(), members=2, share=0.5))
    status = log_status(fold(_log(released)))
    assert status["guard"] is None
    assert "Guard" not in _render(status_view(status))
