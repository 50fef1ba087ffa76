"""What verify reports: decisions that would not be made again, and those it could not
re-check, each with its sequence and what differs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from schemas.events import EventBase


class Finding(NamedTuple):
    seq: int
    type: str
    subject: str  # "host lab1", "VM 'Minion 1'", "pool"
    problem: str

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "type": self.type, "subject": self.subject,
                "problem": self.problem}  # fmt: skip


def subject_of(event: EventBase) -> str:
    name = event.aggregate_name()
    if name is None:
        return "pool"
    return f"VM {name!r}" if event.AGGREGATE == "vm" else f"host {name}"


@dataclass(slots=True)
class Notes:
    """What one check found about one decision."""

    differs: list[str] = field(default_factory=list)
    unconfirmed: list[str] = field(default_factory=list)

    def differ(self, problem: str) -> None:
        self.differs.append(problem)

    def unsure(self, why: str) -> None:
        self.unconfirmed.append(why)


@dataclass(slots=True)
class VerifyReport:
    """The outcome of a replay: `ok` when every decision would be made again."""

    events: int = 0
    last_seq: int = 0
    checked: dict[str, int] = field(default_factory=dict)
    differences: list[Finding] = field(default_factory=list)
    unconfirmed: list[Finding] = field(default_factory=list)
    planner_runs: int = 0
    planner_cache_hits: int = 0
    malformed: int = 0  # unreadable messages or lines the reader skipped (set by the shell)

    @property
    def ok(self) -> bool:
        return not self.differences

    @property
    def decisions(self) -> int:
        return sum(self.checked.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "last_seq": self.last_seq,
            "decisions": self.decisions,
            "checked": dict(sorted(self.checked.items())),
            "differences": [f.to_json() for f in self.differences],
            "unconfirmed": [f.to_json() for f in self.unconfirmed],
            "malformed": self.malformed,
            "planner": {"runs": self.planner_runs, "cache_hits": self.planner_cache_hits},
        }
