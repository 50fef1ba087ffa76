"""Events to bytes and back, with upcasting and one-line reasons for what cannot be read."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from schemas.events.union import CURRENT_VERSIONS, EVENT_ADAPTER, Event
from schemas.events.upcasting import UpcastError, upcast
from schemas.liveness import UPCAST_CONTEXT


class EventDecodeError(ValueError):
    """A payload that is not a readable event; the message is one line saying why."""


def encode_event(event: Event) -> bytes:
    return EVENT_ADAPTER.dump_json(event)


def decode_event(data: bytes | str) -> Event:
    """Decode a stored payload of any version into the current event model.

    Current payloads take the fast path (one pass in pydantic-core). Only when that fails do
    we parse to a dict to find out why: an old version (upcast, then validate), a future
    version, an unknown type or a malformed payload (EventDecodeError).
    """
    try:
        return EVENT_ADAPTER.validate_json(data)
    except ValidationError as exc:
        first_error = exc
    payload = _as_object(data)
    event_type = payload.get("type")
    if not isinstance(event_type, str) or event_type not in CURRENT_VERSIONS:
        raise EventDecodeError(f"unknown event type {event_type!r}")
    version = payload.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise EventDecodeError(f"{event_type}: schema_version is missing or not an integer")
    current = CURRENT_VERSIONS[event_type]
    if version > current:
        raise EventDecodeError(
            f"{event_type} version {version} is newer than this haplan reads ({current}); "
            "upgrade haplan"
        )
    if version == current:
        raise EventDecodeError(f"{event_type}: {_first_problem(first_error)}")
    try:
        # The context lets fields only an upcaster may set (FencedMark.before_signed_slots)
        # through; a current payload is validated without it.
        return EVENT_ADAPTER.validate_python(
            upcast(payload, current), context={UPCAST_CONTEXT: True}
        )
    except UpcastError as exc:
        raise EventDecodeError(str(exc)) from None
    except ValidationError as exc:
        raise EventDecodeError(
            f"{event_type} version {version} after upcasting: {_first_problem(exc)}"
        ) from None


def _as_object(data: bytes | str) -> dict[str, Any]:
    try:
        payload = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise EventDecodeError(f"not JSON: {str(exc).splitlines()[0]}") from None
    if not isinstance(payload, dict):
        raise EventDecodeError(f"not a JSON object but {type(payload).__name__}")
    return payload


def _first_problem(exc: ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    # The union's discriminator adds the type tag as the first location step: drop it.
    loc = [str(step) for step in err["loc"][1:]]
    where = ".".join(loc)
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"{where}: {msg}" if where else msg
