"""A hostile host's files in the shared heartbeat store cannot silence the honest collectors'
observations (services.arbiter.bounds input_limit drops an oversize observation whole, and
with it the readings that would declare a powered-off host dead): a slot in a file named for
another host is refused, files of no pool host are never read, and a bloated incarnation or
reason makes a slot unreadable instead of forwarded."""

from __future__ import annotations

from pathlib import Path

from schemas.slot import REASON_MAX, Slot, clip_reason
from services.collector.core import Collector
from services.common.heartbeat_store import HeartbeatStore, encode_slot
from services.common.message_bounds import input_limit
from services.common.signing import HostSigner
from services.common.timers import Timers

POOL = ("lab1", "lab2", "lab3")


def _slot(host: str, incarnation: str = "boot-1", reason: str | None = None) -> Slot:
    # Unvalidated: the hostile writer does not use our schema's limits.
    return Slot.model_construct(host=host, incarnation=incarnation, seq=1, uptime_s=1.0,
                                lease_ok=True, store_ok=True, lease_age_s=None, fenced=False,
                                reason=reason, beacon=None)  # fmt: skip


def _plant(store: HeartbeatStore, name: str, slot: Slot) -> None:
    store.dir.mkdir(exist_ok=True)
    store.slot_path(name).write_bytes(encode_slot(slot, HostSigner.generate()))


def test_a_hostile_slot_file_does_not_make_honest_observations_oversize(tmp_path: Path) -> None:
    """lab2 writes its own slot with a 60 KB incarnation, a slot claiming to be lab3 in a file
    of its own, and 250 fake slot files: lab1's collector reads the store and its observation
    still fits the pool's limit; lab3's slot is reported from lab3's file only."""
    store = HeartbeatStore(tmp_path, HostSigner.generate())
    store.write(_slot("lab1"))
    _plant(store, "lab2", _slot("lab2", incarnation="x" * 60_000))
    _plant(store, "x", _slot("lab3", incarnation="boot-9"))
    for i in range(250):
        _plant(store, f"fake-{i}", _slot(f"fake-{i}", reason="z" * 2000))
    reads = store.read_all(POOL)
    assert set(reads) == {"lab1", "lab2"}
    assert reads["lab2"].slot is None
    assert store.read("x").problem == "slot names another host"
    collector = Collector.resumed("lab1", "boot-1", POOL, Timers.from_timeout(10.0), 0.0, ())
    slots = [r.slot for r in reads.values() if r.slot is not None]
    records = {h: r.record for h, r in reads.items() if r.record is not None}
    collector.slots_read(0.5, slots, records)
    observation = collector.tick(1.0).observation
    assert len(observation.model_dump_json().encode()) <= input_limit(POOL, ())


def test_a_long_reason_is_clipped_not_an_invalid_slot() -> None:
    """An exception's text of any length as a slot's reason is clipped to what a slot holds,
    and the slot still validates."""
    reason = clip_reason("the collector failed: " + "e" * 10_000)
    assert reason is not None and len(reason) == REASON_MAX
    slot = Slot(host="lab1", incarnation="boot-1", seq=1, uptime_s=0.0, lease_ok=True,
                store_ok=True, reason=reason)  # fmt: skip
    assert slot.reason == reason
    assert clip_reason("short") == "short" and clip_reason(None) is None
