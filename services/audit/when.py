"""Points in time as operators type them: ISO 8601, or an age such as `10m` before now.

Pure: `now` is an argument (the shell reads the clock once).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

FORMS = (
    "an ISO time such as 2026-03-01T12:00:00Z (no offset means UTC) "
    "or an age such as 90s, 10m, 2h, 3d, 1w"
)


class BadTime(ValueError):
    """Text that is neither an ISO time nor an age; the message says what was given."""


def parse_when(text: str, now: datetime) -> datetime:
    """The UTC time `text` means: ISO 8601 (a date alone is its midnight; no offset is UTC),
    or an age `<number><s|m|h|d|w>` counted back from `now`."""
    age = _AGE.match(text)
    if age is not None:
        return now.astimezone(UTC) - timedelta(seconds=float(age.group(1)) * _UNIT_S[age.group(2)])
    try:
        # fromisoformat reads 'Z' from Python 3.11 on, and dates alone.
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadTime(f"{text!r} is not a time: give {FORMS}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
