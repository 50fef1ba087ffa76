"""What `haplan up` shows: the pool live on a TTY (rich), one line per happening otherwise.

Rendering is pure: a `Picture` (the leader's `ha.op.status` answer, the hosts as `up` sees
them, the latest events and up's own notes) in, a rich renderable or a line out.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from services.common.state_styles import HOST_STATE_STYLE, POWER_STYLE
from services.up.journal import Note

RECENT = 10


@dataclass(frozen=True, slots=True)
class EventLine:
    seq: int
    at: datetime
    type: str
    summary: str

    def text(self) -> str:
        return f"{self.seq:>5}  {self.at:%H:%M:%S}  {self.type:<20}  {self.summary}"


@dataclass
class Picture:
    pool: str
    timeout_s: float
    runtime_dir: str
    status: dict[str, Any] | None = None  # the leader's latest answer; None: none yet
    answered_at: datetime | None = None  # when that answer came
    answering: bool = False  # False: the last request found no leader
    hosts: list[dict[str, Any]] = field(default_factory=list)  # HostMachine.row()
    events: deque[EventLine] = field(default_factory=lambda: deque(maxlen=RECENT))
    notes: deque[Note] = field(default_factory=lambda: deque(maxlen=RECENT))


def _yes_no(value: object) -> str:
    return "-" if value is None else ("yes" if value else "no")


def pool_line(p: Picture) -> Text:
    s = p.status
    line = Text()
    line.append(f"{p.pool}", style="bold")
    line.append(f"   T = {p.timeout_s:g} s")
    if s is None:
        line.append("   no arbiter leads yet (elections take a few seconds)", style="yellow")
        return line
    line.append("   HA ")
    line.append(
        "on" if s.get("ha_enabled") else "off", style="green" if s.get("ha_enabled") else "red"
    )
    line.append(f"   ntol {s.get('host_failures_to_tolerate')}")
    mhf = s.get("max_host_failures_to_tolerate")
    line.append(f"   max failures {'-' if mhf is None else mhf}")
    over = s.get("overcommitted")
    line.append("   overcommitted ")
    line.append(_yes_no(over), style="bold red" if over else "")
    line.append(f"   leader {s.get('leader') or '-'}")
    guard = s.get("guard")
    if guard:  # docs/protocol.md, Guard rail against mass suspicion
        hosts = ", ".join(str(h) for h in guard.get("suspected", []))
        line.append(f"   guard engaged ({hosts}): no declaration on silence", style="bold yellow")
    if not p.answering and p.answered_at is not None:
        line.append(f"   no leader answers: as of {p.answered_at:%H:%M:%S}", style="yellow")
    return line


def hosts_table(p: Picture) -> Table:
    table = Table(title="Hosts", title_justify="left", expand=False)
    for col in ("host", "state", "liveset", "cables pulled", "collector"):
        table.add_column(col)
    known = {h["name"]: h for h in (p.status or {}).get("hosts", [])}
    for row in p.hosts:
        h = known.get(row["name"], {})
        state = str(h.get("state", "?"))
        if h.get("suspected") and state == "live":
            state = "suspected"
        pulled = ", ".join(row["pulled"]) or "-"
        pid = row.get("collector_pid")
        table.add_row(
            row["name"],
            Text(state, style=HOST_STATE_STYLE.get(state, "yellow")),
            _yes_no(h.get("in_liveset")),
            Text(pulled, style="bold red" if row["pulled"] else "dim"),
            f"pid {pid}" if pid else "not running",
        )
    return table


def vms_table(p: Picture) -> Table:
    table = Table(title="VMs", title_justify="left", expand=False)
    for col in ("VM", "host", "power state"):
        table.add_column(col)
    for vm in (p.status or {}).get("vms", []):
        power = str(vm.get("power_state"))
        table.add_row(
            str(vm.get("name")),
            str(vm.get("host") or "-"),
            Text(power, style=POWER_STYLE.get(power, "")),
        )
    return table


def note_text(note: Note) -> str:
    return f"{note.at:%H:%M:%S}  {note.member:<10}  {note.text}"


def render(p: Picture) -> RenderableType:
    events = Table(title="Latest events", title_justify="left", show_header=False, box=None)
    events.add_column(no_wrap=True, overflow="ellipsis")
    for e in p.events:
        events.add_row(Text(e.text()))
    if not p.events:
        events.add_row(Text("(none yet)", style="dim"))
    notes = Table(title="haplan up", title_justify="left", show_header=False, box=None)
    notes.add_column(no_wrap=True, overflow="ellipsis")
    for n in p.notes:
        notes.add_row(Text(note_text(n), style="dim"))
    footer = Text(
        f"haplan fault power|storage|network|hang|heal HOST from another terminal; "
        f"Ctrl-C stops everything. Logs: {p.runtime_dir}/logs",
        style="dim",
    )
    return Group(pool_line(p), hosts_table(p), vms_table(p), events, notes, footer)
