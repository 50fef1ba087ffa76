"""Times on the audit command line: ISO 8601 or an age before now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.audit import BadTime, parse_when

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-02-28T10:30:00Z", datetime(2026, 2, 28, 10, 30, tzinfo=UTC)),
        ("2026-02-28T10:30:00", datetime(2026, 2, 28, 10, 30, tzinfo=UTC)),
        ("2026-02-28T12:30:00+02:00", datetime(2026, 2, 28, 10, 30, tzinfo=UTC)),
        ("2026-02-28", datetime(2026, 2, 28, tzinfo=UTC)),
        ("90s", NOW - timedelta(seconds=90)),
        ("10m", NOW - timedelta(minutes=10)),
        ("1.5h", NOW - timedelta(minutes=90)),
        ("3d", NOW - timedelta(days=3)),
        ("1w", NOW - timedelta(days=7)),
    ],
)
def test_iso_times_and_ages(text: str, expected: datetime) -> None:
    """ISO times (no offset means UTC, a date alone is its midnight) and ages counted back
    from now all come out as the same instant in UTC."""
    got = parse_when(text, NOW)
    assert got == expected
    assert got.tzinfo == UTC


def test_an_age_counts_back_from_the_given_now_whatever_its_offset() -> None:
    """`now` in another offset gives the same instant."""
    local_now = NOW.astimezone(timezone(timedelta(hours=-5)))
    assert parse_when("10m", local_now) == NOW - timedelta(minutes=10)


@pytest.mark.parametrize("text", ["yesterday", "10 minutes", "-5m", "2026-13-01", ""])
def test_other_text_is_refused_with_the_forms_accepted(text: str) -> None:
    """Anything else raises BadTime naming the text and both accepted forms."""
    with pytest.raises(BadTime) as caught:
        parse_when(text, NOW)
    assert repr(text) in str(caught.value)
    assert "ISO time" in str(caught.value) and "10m" in str(caught.value)
