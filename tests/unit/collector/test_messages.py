"""The liveness protocol's bus messages (schemas.messages): JSON on the wire, strict on input."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from schemas.messages import (
    Beacon,
    FencedNotice,
    JoinAccepted,
    JoinRequest,
    NetworkHeartbeat,
    SlotReading,
    StartOrder,
    StoreObservation,
)

BEACON = Beacon(leader="arbiter@lab2", term=3, seq=41)
SAMPLES: list[BaseModel] = [
    BEACON,
    NetworkHeartbeat(
        host="lab1", incarnation="b1", seq=7, lease_ok=True, store_ok=False, vms=("Minion 1",)
    ),
    StoreObservation(
        observer="lab2",
        incarnation="b2",
        beacon=BEACON,
        readings=(
            SlotReading(
                host="lab1",
                incarnation="b1",
                seq=9,
                stale_for_s=4.5,
                lease_ok=False,
                fenced=True,
                current=False,
            ),
        ),
    ),
    StoreObservation(observer="lab2", incarnation="b2", unreachable_for_s=12.0),
    FencedNotice(host="lab1", incarnation="b1"),
    JoinRequest(host="lab1", incarnation="b3", beacon=BEACON),
    JoinAccepted(host="lab1", incarnation="b3"),
    StartOrder(order_id="order-1", vm="Minion 1", host="lab2", incarnation="b2"),
]


@pytest.mark.parametrize("message", SAMPLES, ids=lambda m: type(m).__name__)
def test_every_message_round_trips_through_json(message: BaseModel) -> None:
    """What a shell publishes is what the other side's core receives, field for field."""
    assert type(message).model_validate_json(message.model_dump_json()) == message


def test_unknown_fields_and_negative_durations_are_refused() -> None:
    """A typo or a clock-derived negative duration is an error, not a silent default."""
    with pytest.raises(ValidationError):
        FencedNotice.model_validate({"host": "lab1", "incarnation": "b1", "fenced_at": 3})
    with pytest.raises(ValidationError):
        StoreObservation(observer="lab2", incarnation="b2", unreachable_for_s=-1.0)
    with pytest.raises(ValidationError):
        StartOrder(order_id="", vm="Minion 1", host="lab2", incarnation="b2")


def test_messages_are_immutable() -> None:
    """A message handed to a core cannot be changed behind its back."""
    with pytest.raises(ValidationError):
        BEACON.seq = 42  # type: ignore[misc]
