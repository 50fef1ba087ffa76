"""Upcasters: old versions of stored events turned into the current one before validation.

Stored events are never rewritten. A reader meets every version ever written, so each
change of an event's shape bumps its `schema_version` and registers here the function that
takes a payload of the old version to the next one; `upcast` chains them up to the current
version. Upcasters work on plain JSON data (dicts), never on models.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]

_ENVELOPE = ("type", "schema_version", "event_id", "at", "epoch")
UPCASTERS: dict[tuple[str, int], Upcaster] = {}


class UpcastError(ValueError):
    """No upcaster leads from the payload's version to the current one."""


def upcaster(event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register `fn` as the step from `from_version` to `from_version + 1` of `event_type`."""

    def register(fn: Upcaster) -> Upcaster:
        key = (event_type, from_version)
        if key in UPCASTERS:
            raise ValueError(f"two upcasters for {event_type} version {from_version}")
        UPCASTERS[key] = fn
        return fn

    return register


def upcast(payload: Payload, current_version: int) -> Payload:
    """The payload raised to `current_version`, one registered step at a time."""
    event_type = payload["type"]
    version = payload["schema_version"]
    if version >= 2 and _claims_before_signed_slots(payload):
        # Only the upcasters of version 1 set it: a stored later version that carries it is
        # passing an unsigned mark off as an old one (the codec validates upcast payloads
        # with the context that lets the flag through).
        raise UpcastError("before_signed_slots is only set by upcasting a version 1 event")
    while version < current_version:
        step = UPCASTERS.get((event_type, version))
        if step is None:
            raise UpcastError(f"{event_type} version {version} cannot be read: no upcaster from it")
        payload = step(payload)
        version += 1
        payload["schema_version"] = version
    return payload


@upcaster("vm_created", 1)
def _vm_created_nest_spec(payload: Payload) -> Payload:
    """v1 was flat, called the priority `priority`, and had no per-VM memory overhead
    (hypervisor overhead was not modelled: 0 MiB is what v1 meant)."""
    spec = {k: v for k, v in payload.items() if k not in _ENVELOPE}
    if "priority" in spec:
        spec["ha_restart_priority"] = spec.pop("priority")
    spec.setdefault("memory_overhead_mib", 0)
    out = {k: payload[k] for k in _ENVELOPE if k in payload}
    out["spec"] = spec
    return out


def _claims_before_signed_slots(payload: Payload) -> bool:
    evidence = payload.get("evidence")
    marks = [payload.get("mark")]
    if isinstance(evidence, dict):
        marks.append(evidence.get("fenced_mark"))
    flagged = [m.get("before_signed_slots") for m in marks if isinstance(m, dict)]
    return bool(payload.get("before_signed_slots")) or any(flagged)


def _unsigned_if_bare(mark: Payload | None) -> None:
    """A version 1 slot mark without a record was written before slots were signed."""
    if mark is not None and mark.get("source") == "slot" and mark.get("record") is None:
        mark["before_signed_slots"] = True


@upcaster("host_fenced", 1)
def _host_fenced_signed_marks(payload: Payload) -> Payload:
    """v2 requires a slot mark's signed record; a v1 mark may have none (before signed slots)."""
    _unsigned_if_bare(payload.get("mark"))
    return payload


@upcaster("host_declared_dead", 1)
def _host_declared_dead_signed_marks(payload: Payload) -> Payload:
    """As host_fenced: the fenced mark of the evidence, if any."""
    evidence = payload.get("evidence")
    if isinstance(evidence, dict):
        _unsigned_if_bare(evidence.get("fenced_mark"))
    return payload


@upcaster("host_joined", 1)
def _host_joined_signed_record(payload: Payload) -> Payload:
    """v2 carries the join's signed slot record; v1 had none (before signed slots)."""
    payload["before_signed_slots"] = True
    return payload


@upcaster("host_declared_dead", 2)
def _host_declared_dead_own_store(payload: Payload) -> Payload:
    """v3 records the leader's own reading of the store (`own_store`); a v2 leader had none:
    its timeout path took a collector's reading, which the rule re-checks as it was then."""
    evidence = payload.get("evidence")
    if isinstance(evidence, dict):
        evidence.setdefault("own_store", None)
    return payload


@upcaster("host_declared_dead", 3)
def _host_declared_dead_power_off(payload: Payload) -> Payload:
    """v4 may rest on a BMC's confirmed power-off (`power_off`); no v3 declaration did."""
    evidence = payload.get("evidence")
    if isinstance(evidence, dict):
        evidence.setdefault("power_off", None)
    return payload
