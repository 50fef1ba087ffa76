"""Warnings about what one sender did wrong, at most one per sender per window.

A credential that floods its subject with bad messages must not turn every subscriber's log into
a copy of the flood (25,000 lines in 15 s were seen, issue 14): the first bad message of a sender
is logged, the next ones within `window_s` are only counted, and the next warning that goes out
says how many were left out. Counting every message stays the metrics' job.

Pure: time is an argument; the shells pass their monotonic clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

WARN_WINDOW_S = 10.0
# Senders remembered at most: a sender is a subject token, which an unauthenticated client
# can vary at will; forgetting the oldest only costs one extra warning line.
MAX_SENDERS = 1024


@dataclass
class _Sender:
    logged_at: float
    suppressed: int = 0


@dataclass
class WarnLimiter:
    """`admit(sender, now)` says whether to log a warning about `sender` now, and how many
    of its warnings were left out since the last one logged."""

    window_s: float = WARN_WINDOW_S
    max_senders: int = MAX_SENDERS
    _senders: dict[str, _Sender] = field(default_factory=dict)

    def admit(self, sender: str, now: float) -> tuple[bool, int]:
        seen = self._senders.get(sender)
        if seen is not None and now - seen.logged_at < self.window_s:
            seen.suppressed += 1
            return False, 0
        left_out = seen.suppressed if seen is not None else 0
        self._senders.pop(sender, None)
        self._senders[sender] = _Sender(logged_at=now)  # newest last: oldest go first
        while len(self._senders) > self.max_senders:
            del self._senders[next(iter(self._senders))]
        return True, left_out
