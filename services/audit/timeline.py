"""The timeline: the log's events as rows, filtered by time, host and VM."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from services.audit.entries import Logged
from services.audit.involved import involved


@dataclass(frozen=True, slots=True)
class TimelineFilter:
    """Which events a timeline shows: `at` within [since, until] (either end open when None),
    naming one of `hosts` (when given) and one of `vms` (when given)."""

    since: datetime | None = None
    until: datetime | None = None
    hosts: frozenset[str] = frozenset()
    vms: frozenset[str] = frozenset()

    def matches(self, entry: Logged) -> bool:
        event = entry.event
        if self.since is not None and event.at < self.since:
            return False
        if self.until is not None and event.at > self.until:
            return False
        if not (self.hosts or self.vms):
            return True
        named = involved(event)
        if self.hosts and self.hosts.isdisjoint(named.hosts):
            return False
        return not (self.vms and self.vms.isdisjoint(named.vms))


class TimelineRow(NamedTuple):
    seq: int
    at: datetime
    type: str
    hosts: tuple[str, ...]
    vms: tuple[str, ...]
    summary: str
    entry: Logged

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at.isoformat().replace("+00:00", "Z"),
            "type": self.type,
            "hosts": list(self.hosts),
            "vms": list(self.vms),
            "summary": self.summary,
            "event": self.entry.event.model_dump(mode="json"),
        }


def timeline_row(entry: Logged) -> TimelineRow:
    event = entry.event
    named = involved(event)
    return TimelineRow(
        entry.seq, event.at, event.type, named.hosts, named.vms, event.summary(), entry
    )


def timeline(
    entries: Iterable[Logged], only: TimelineFilter = TimelineFilter()
) -> Iterator[TimelineRow]:
    """The rows of the entries `only` keeps, in log order."""
    return (timeline_row(entry) for entry in entries if only.matches(entry))
