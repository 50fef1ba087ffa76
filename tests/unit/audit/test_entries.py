"""Export lines: one event with its sequence per line, read back exactly, and one-line
reasons for every line that cannot be read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas.events import VMCreated
from services.audit import Entry, UnreadableLine, decode_line, encode_line
from tests.fixtures.events import sample_events

V1_PAYLOAD = Path(__file__).parents[2] / "fixtures" / "vm_created_v1.json"


def test_every_event_type_round_trips_through_a_line() -> None:
    """encode_line then decode_line gives back the same sequence and the same event, for one
    event of every type; the line is one JSON object that starts with its sequence."""
    for seq, event in enumerate(sample_events(), start=1):
        line = encode_line(seq * 7, event)  # type: ignore[arg-type]
        assert b"\n" not in line
        assert next(iter(json.loads(line))) == "seq"
        assert decode_line(line + b"\n") == Entry(seq * 7, event)  # type: ignore[arg-type]


def test_lines_written_by_other_tools_are_read() -> None:
    """Any key order and spacing works, as `haplan events --json` or jq would write it."""
    event = sample_events()[2]
    payload = json.loads(encode_line(3, event))  # type: ignore[arg-type]
    reordered = {k: payload[k] for k in reversed(payload)}
    assert decode_line(json.dumps(reordered, indent=1)) == Entry(3, event)  # type: ignore[arg-type]
    assert decode_line(json.dumps(payload, indent=None)) == Entry(3, event)  # type: ignore[arg-type]


def test_an_old_event_version_is_upcast_on_read() -> None:
    """A stored version-1 VMCreated inside an export line reads as the current version."""
    payload = {"seq": 4, **json.loads(V1_PAYLOAD.read_text())}
    entry = decode_line(json.dumps(payload))
    assert entry.seq == 4
    assert isinstance(entry.event, VMCreated) and entry.event.schema_version == 2


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("garbage", "not JSON"),
        ("[1, 2]", "not a JSON object but list"),
        ('{"type": "host_joined"}', 'no "seq"'),
        ('{"seq": true, "type": "host_joined"}', 'no "seq"'),
        ('{"seq": 0, "type": "ha_disabled"}', "sequence 0 is not a log sequence"),
        ('{"seq": 5, "type": "host_exploded", "schema_version": 1}', "unknown event type"),
        ('{"seq": 5, "type": "ha_disabled", "schema_version": 9}', "newer than this haplan"),
        ('{"seq": 5, "type": "ha_disabled", "schema_version": 1}', "event_id"),
    ],
)
def test_unreadable_lines_say_why_in_one_line(line: str, reason: str) -> None:
    """Each kind of bad line raises UnreadableLine with a one-line reason naming the problem."""
    with pytest.raises(UnreadableLine) as caught:
        decode_line(line)
    assert reason in str(caught.value)
    assert "\n" not in str(caught.value)
