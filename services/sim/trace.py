"""What happened in a simulated run, line by line, for a violation's report."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Trace:
    enabled: bool = True
    lines: list[tuple[float, str]] = field(default_factory=list)

    def add(self, t: float, what: str) -> None:
        if self.enabled:
            self.lines.append((t, what))

    def render(self, limit: int | None = None) -> list[str]:
        lines = self.lines if limit is None else self.lines[-limit:]
        return [f"{t:9.2f}s  {what}" for t, what in lines]
