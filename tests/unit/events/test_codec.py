"""Decoding stored payloads: fast path, upcasting of old versions, one-line reasons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas.events import (
    CURRENT_VERSIONS,
    UPCASTERS,
    EventDecodeError,
    HostDeclaredDead,
    HostFenced,
    HostJoined,
    VMCreated,
    decode_event,
    encode_event,
    upcast,
    upcaster,
)
from schemas.events.upcasting import UpcastError
from tests.fixtures.events import make

V1_PAYLOAD = Path(__file__).parents[2] / "fixtures" / "vm_created_v1.json"


def test_stored_v1_vm_created_is_upcast_to_the_current_version() -> None:
    """A VMCreated written by version 1 (flat, `priority`, no overhead) reads as version 2."""
    event = decode_event(V1_PAYLOAD.read_bytes())
    assert isinstance(event, VMCreated)
    assert event.schema_version == 2
    assert event.event_id == "5f0c7d7e-1c51-4a77-9d8e-0d2f7f6f2a10"
    assert event.spec.name == "Minion 1"
    assert event.spec.memory_mib == 4096
    assert event.spec.memory_overhead_mib == 0
    assert event.spec.ha_restart_priority == "restart"
    assert event.spec.order == 2
    assert event.spec.host == "lab1"


def test_upcast_event_reencodes_as_the_current_version() -> None:
    """Upcasting happens on read only; encoding an upcast event writes the current shape."""
    event = decode_event(V1_PAYLOAD.read_bytes())
    data = json.loads(encode_event(event))
    assert data["schema_version"] == 2
    assert "priority" not in data and data["spec"]["ha_restart_priority"] == "restart"


def test_every_old_version_has_a_path_to_the_current_one() -> None:
    """For every type, each version below the current one has an upcaster."""
    for event_type, current in CURRENT_VERSIONS.items():
        for version in range(1, current):
            assert (event_type, version) in UPCASTERS, (event_type, version)


def test_a_v1_payload_with_a_bad_field_names_it_after_upcasting() -> None:
    """An old payload that stays invalid after upcasting is refused, naming the field."""
    data = json.loads(V1_PAYLOAD.read_text())
    data["memory_mib"] = -1
    with pytest.raises(
        EventDecodeError, match=r"vm_created version 1 after upcasting: spec.memory_mib"
    ):
        decode_event(json.dumps(data))


def test_a_version_with_no_upcaster_is_refused() -> None:
    """A version nobody registered a step from cannot be read, and says so."""
    with pytest.raises(UpcastError, match="version 0"):
        upcast({"type": "vm_created", "schema_version": 0}, 2)


def test_registering_two_upcasters_for_one_version_fails() -> None:
    """Two steps from the same version would make reads ambiguous: refused at import."""
    with pytest.raises(ValueError, match="two upcasters"):
        upcaster("vm_created", 1)(lambda payload: payload)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xff\x00garbage", "not JSON"),
        (b"[1, 2]", "not a JSON object but list"),
        (b'{"type": "host_exploded", "schema_version": 1}', "unknown event type 'host_exploded'"),
        (b'{"schema_version": 1}', "unknown event type None"),
        (b'{"type": "host_joined", "schema_version": "1"}', "schema_version is missing or not"),
        (b'{"type": "host_joined", "schema_version": 9}', "newer than this haplan reads"),
    ],
)
def test_unreadable_payloads_raise_one_line_reasons(payload: bytes, reason: str) -> None:
    """Each kind of unreadable payload raises EventDecodeError with a one-line reason."""
    with pytest.raises(EventDecodeError, match=reason) as info:
        decode_event(payload)
    assert "\n" not in str(info.value)


def test_a_current_payload_missing_a_field_names_it() -> None:
    """A current-version payload without a required field names that field."""
    data = json.loads(encode_event(make(HostJoined, host="lab1", incarnation="b1")))
    del data["incarnation"]
    with pytest.raises(EventDecodeError, match=r"^host_joined: incarnation: Field required$"):
        decode_event(json.dumps(data).encode())


def test_a_v1_slot_mark_without_a_record_is_upcast_as_before_signed_slots() -> None:
    """host_fenced version 1 reads as version 2; its unsigned slot mark is flagged as from
    before signed slots (and the flag is never written back), a bus mark is not flagged."""
    event_id = "00000000-0000-4000-8000-000000000001"
    base = {"type": "host_fenced", "schema_version": 1, "event_id": event_id,
            "at": "2026-01-01T00:00:00Z", "epoch": 1, "host": "lab1"}  # fmt: skip
    slot = {"source": "slot", "observer": "lab2", "incarnation": "boot-1", "record": None}
    event = decode_event(json.dumps({**base, "mark": slot}))
    assert event.schema_version == 2
    assert isinstance(event, HostFenced) and event.mark.before_signed_slots
    assert "before_signed_slots" not in encode_event(event).decode()
    bus = {"source": "bus", "incarnation": "boot-1"}
    event = decode_event(json.dumps({**base, "mark": bus}))
    assert isinstance(event, HostFenced) and not event.mark.before_signed_slots


def test_a_v2_declaration_is_upcast_without_the_leaders_own_reading() -> None:
    """host_declared_dead version 2 (and 1, through 2) reads as the current version with no
    `own_store`: its timeout path took a collector's reading, and the rule re-checks it as it
    was then."""
    event_id = "00000000-0000-4000-8000-000000000002"
    evidence = {"rule": "timeout", "incarnation": "boot-1", "t_dead_s": 42.0,
                "leader_for_s": 100.0, "lease_silent_for_s": 50.0,
                "slot_stale": {"observer": "lab2", "slot_seq": 3, "stale_for_s": 45.0}}  # fmt: skip
    for version in (1, 2):
        payload = {"type": "host_declared_dead", "schema_version": version,
                   "event_id": event_id, "at": "2026-01-01T00:00:00Z", "epoch": 1,
                   "host": "lab1", "evidence": evidence}  # fmt: skip
        event = decode_event(json.dumps(payload))
        assert isinstance(event, HostDeclaredDead) and event.schema_version == 4
        assert event.evidence.own_store is None
        assert event.evidence.slot_stale is not None
        assert '"schema_version":4' in encode_event(event).decode()


def test_a_v3_declaration_is_upcast_without_a_power_off() -> None:
    """host_declared_dead version 3 reads as version 4 with no `power_off`: no declaration
    rested on a BMC before version 4, and its rule is re-checked as it was."""
    evidence = {"rule": "timeout", "incarnation": "boot-1", "t_dead_s": 42.0,
                "leader_for_s": 100.0, "lease_silent_for_s": 50.0, "own_store": None,
                "slot_stale": {"observer": "lab2", "slot_seq": 3, "stale_for_s": 45.0}}  # fmt: skip
    payload = {"type": "host_declared_dead", "schema_version": 3,
               "event_id": "00000000-0000-4000-8000-000000000003",
               "at": "2026-01-01T00:00:00Z", "epoch": 1, "host": "lab1",
               "evidence": evidence}  # fmt: skip
    event = decode_event(json.dumps(payload))
    assert isinstance(event, HostDeclaredDead) and event.schema_version == 4
    assert event.evidence.power_off is None and event.evidence.rule == "timeout"
