"""The event catalogue: one union holding every event, immutable models, a strict envelope."""

from __future__ import annotations

import inspect
from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

import schemas.events as events_pkg
from schemas.events import (
    CURRENT_VERSIONS,
    EVENT_TYPES,
    EventBase,
    HostJoined,
    PoolCreated,
    VMStarted,
    decode_event,
    encode_event,
)
from tests.fixtures.events import T0, lab_pool, make, sample_events


def test_every_event_class_is_in_the_union() -> None:
    """Each concrete event class exported by schemas.events is a member of the union (a class
    left out could be appended by nobody and read by nobody)."""
    exported = {
        obj
        for obj in vars(events_pkg).values()
        if inspect.isclass(obj)
        and issubclass(obj, EventBase)
        and "type" in obj.model_fields
        and obj.model_fields["type"].default is not None
        and isinstance(obj.model_fields["type"].default, str)
    }
    assert exported == set(EVENT_TYPES)


def test_type_tags_are_unique_and_snake_case() -> None:
    """Type tags are distinct and lowercase snake_case (they are subjects' and scripts' keys)."""
    tags = [cls.model_fields["type"].default for cls in EVENT_TYPES]
    assert len(set(tags)) == len(tags)
    assert all(t.replace("_", "").isalpha() and t == t.lower() for t in tags)


def test_samples_cover_every_type() -> None:
    """The shared samples hold one event of each type (other tests rely on it)."""
    assert {type(e) for e in sample_events()} == set(EVENT_TYPES)


@pytest.mark.parametrize("event", sample_events(), ids=lambda e: e.type)
def test_every_event_round_trips_through_bytes(event: EventBase) -> None:
    """encode then decode gives back an equal event of the same class and version."""
    decoded = decode_event(encode_event(event))  # type: ignore[arg-type]
    assert decoded == event
    assert type(decoded) is type(event)
    assert decoded.schema_version == CURRENT_VERSIONS[event.type]


@pytest.mark.parametrize("event", sample_events(), ids=lambda e: e.type)
def test_every_event_has_a_one_line_summary(event: EventBase) -> None:
    """Operators read summaries in `haplan events`: one non-empty line each."""
    text = event.summary()
    assert text.strip() and "\n" not in text


def test_envelope_comes_first_in_payloads() -> None:
    """Stored payloads start with type and schema_version, then id, time and epoch."""
    payload = encode_event(make(HostJoined, host="lab1", incarnation="b1"))
    assert payload.startswith(b'{"type":"host_joined","schema_version":2,"event_id":')


def test_events_are_immutable() -> None:
    """An event is a fact: its fields cannot be changed after creation."""
    event = make(HostJoined, host="lab1", incarnation="b1")
    with pytest.raises(ValidationError):
        event.host = "lab2"  # type: ignore[misc]


def test_at_is_normalised_to_utc() -> None:
    """A time given with another offset is stored as the same instant in UTC."""
    paris = timezone(timedelta(hours=1))
    event = make(
        HostJoined, at=datetime(2026, 3, 1, 13, 0, tzinfo=paris), host="h", incarnation="b"
    )
    assert event.at == T0
    assert event.at.utcoffset() == timedelta(0)
    assert b'"at":"2026-03-01T12:00:00Z"' in encode_event(event)


def test_naive_times_are_refused() -> None:
    """A time without a zone is ambiguous across hosts, so it is refused."""
    with pytest.raises(ValidationError, match="timezone"):
        HostJoined(event_id="00000000-0000-4000-8000-000000000001", at=datetime(2026, 3, 1),
                   epoch=0, host="h", incarnation="b")  # fmt: skip


@pytest.mark.parametrize("bad", ["", "not-a-uuid", "5F0C7D7E-1C51-4A77-9D8E-0D2F7F6F2A10"])
def test_event_id_must_be_a_canonical_uuid(bad: str) -> None:
    """event_id doubles as Nats-Msg-Id: only canonical lowercase UUIDs are accepted."""
    with pytest.raises(ValidationError, match="event_id"):
        HostJoined(event_id=bad, at=T0, epoch=0, host="h", incarnation="b")


def test_epoch_cannot_be_negative() -> None:
    """The epoch is a lease revision: never negative."""
    with pytest.raises(ValidationError, match="epoch"):
        make(HostJoined, epoch=-1, host="h", incarnation="b")


def test_unknown_fields_are_refused() -> None:
    """A misspelt field is an error, not silently dropped data."""
    with pytest.raises(ValidationError, match="instanse"):
        make(VMStarted, vm="v", host="h", incarnation="b", instance="i", instanse="typo")


def test_pool_created_carries_a_valid_pool() -> None:
    """PoolCreated holds the whole pool, validated by the pool rules."""
    event = make(PoolCreated, epoch=0, pool=lab_pool())
    assert event.pool == lab_pool()
    data = lab_pool().model_dump()
    data["vms"][0]["host"] = "nowhere"
    with pytest.raises(ValidationError, match="not in the pool"):
        make(PoolCreated, epoch=0, pool=data)


def test_host_and_vm_events_name_their_aggregate() -> None:
    """Each event says which host or VM it is about (that picks its subject)."""
    names = {e.type: (e.AGGREGATE, e.aggregate_name()) for e in sample_events()}
    assert names["pool_created"] == ("pool", None)
    assert names["host_added"] == ("host", "lab3")
    assert names["host_declared_dead"] == ("host", "lab1")
    assert names["vm_created"] == ("vm", "Minion 2")
    assert names["vm_started"] == ("vm", "Minion 1")
    assert names["plan_computed"] == ("plan", None)
    assert names["pool_overcommitted"] == names["plan_restored"] == ("plan", None)
