"""The lying observer against a real arbiter process and a real nats-server (issue 13): lab1 is
cut from the bus (its lease silent) but alive, writing its signed slot into the shared store
every interval, as a host staying on the outage rule does; lab2, which keeps the bus, says on
its own `ha.sto.lab2` that lab1's slot has been still for an hour, with fresh beacons and lab1's
genuine signed record. No signature catches that: staleness is the observer's word.

An arbiter given the store (`--store DIR`) judges stillness from its own reading: lab1's slot
advances there, so lab1 is suspected but never declared dead, and Minion 1 is never ordered
elsewhere; once lab1 stops writing, its own reading declares it dead, and the evidence records
that reading. An arbiter without a store falls back on the collector's word (and says so once
at start): the same lie then gets lab1 declared dead while it runs Minion 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

from schemas.events import HostDeclaredDead, HostSuspected, LeaderElected, VMRestartOrdered
from schemas.messages import StoreObservation
from services.cli.arbiter import NO_STORE_WARNING
from services.common.subjects import encode_token
from tests.integration.arbiter.conftest import Pool, Spawn
from tests.integration.arbiter.players import (
    TIMERS,
    Host,
    both_joined,
    events,
    eventually,
    first_event,
)

STILL_FOR_S = 3600.0
LYING_S = 4 * TIMERS.t_dead_s  # how long lab2 lies while lab1 writes: several T_dead


def lie(lab2: Host) -> StoreObservation:
    """lab2's honest observation, with every reading of lab1's slot saying still for an hour
    (lab1's genuine signed record of its current seq, echoing lab2's newest beacon)."""
    readings = tuple(
        r.model_copy(update={"stale_for_s": STILL_FOR_S}) if r.host == "lab1" else r
        for r in lab2.store.readings("lab2 lying", time.monotonic())
    )
    return StoreObservation(
        observer="lab2", incarnation=lab2.incarnation, beacon=lab2.beacon, readings=readings
    )


async def _lying(pool: Pool, lab2: Host) -> None:
    while True:
        obs = lie(lab2)
        await pool.nc.publish(f"ha.sto.{encode_token('lab2')}", obs.model_dump_json().encode())
        await asyncio.sleep(TIMERS.interval_s / 2)


async def _cut_lab1_while_lab2_lies(pool: Pool) -> tuple[Host, Host, asyncio.Task[None]]:
    lab1 = await pool.host("lab1", ("Minion 1",))
    lab2 = await pool.host("lab2")
    await both_joined(pool.store, pool.hosts)
    lab1.on_bus = False  # its lease goes silent; it keeps writing its slot
    return lab1, lab2, asyncio.create_task(_lying(pool, lab2))


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _suspected(pool: Pool) -> bool:
    return await first_event(pool.store, HostSuspected, lambda e: e.host == "lab1") is not None  # type: ignore[attr-defined]


async def test_a_lying_observer_gets_no_host_declared_dead_while_its_slot_advances(
    pool: Pool, spawn_arbiter: Spawn, tmp_path: Path
) -> None:
    """With `--store`, for several T_dead after lab1's lease went silent (it is suspected)
    lab2's "lab1's slot is still" decides nothing: lab1 is not declared dead and Minion 1 is
    never ordered elsewhere while lab1 writes its slot. Then lab1 stops writing (power off):
    it is declared dead by timeout on the leader's own reading, whose record is lab1's."""
    spawn_arbiter("a1", tmp_path / "store")
    await eventually(lambda: first_event(pool.store, LeaderElected), 30, "a1 leads")
    lab1, lab2, lying = await _cut_lab1_while_lab2_lies(pool)
    try:
        await eventually(lambda: _suspected(pool), 30, "lab1 suspected (its lease is silent)")
        await asyncio.sleep(LYING_S)
        recorded = [r.event for r in await events(pool.store)]
        harmful = [e for e in recorded if isinstance(e, HostDeclaredDead | VMRestartOrdered)]
        assert harmful == [], "lab1 declared dead on lab2's word while its slot advanced"
        await lab1.stop()

        async def declared() -> HostDeclaredDead | None:
            found = await first_event(pool.store, HostDeclaredDead)
            return found.event if found is not None else None  # type: ignore[return-value]

        dead = await eventually(declared, 60, "lab1 declared dead once its slot stood still")
    finally:
        await _stop(lying)
    own = dead.evidence.own_store
    assert dead.host == "lab1" and dead.evidence.rule == "timeout"
    assert own is not None and own.slot is not None and own.slot.record is not None
    assert own.slot.seq == lab2.store.slots["lab1"].seq
    assert own.slot.still_for_s >= TIMERS.t_dead_s


async def test_without_a_store_the_arbiter_warns_and_the_lie_declares_the_host_dead(
    pool: Pool, spawn_arbiter: Spawn
) -> None:
    """An arbiter started without `--store` says once at start that its timeout path falls
    back on a collector's reading; the same lie then gets lab1, still writing its slot and
    running Minion 1, declared dead on lab2's reading (the hole `--store` closes)."""
    a1 = spawn_arbiter("a1")
    await eventually(lambda: first_event(pool.store, LeaderElected), 30, "a1 leads")
    _, _, lying = await _cut_lab1_while_lab2_lies(pool)
    try:

        async def declared() -> HostDeclaredDead | None:
            found = await first_event(pool.store, HostDeclaredDead)
            return found.event if found is not None else None  # type: ignore[return-value]

        dead = await eventually(declared, 60, "lab1 declared dead on lab2's word")
    finally:
        await _stop(lying)
    assert dead.host == "lab1" and dead.evidence.own_store is None
    assert dead.evidence.slot_stale is not None and dead.evidence.slot_stale.observer == "lab2"
    warned = [e for e in a1.log_lines() if e.get("event") == NO_STORE_WARNING]
    assert len(warned) == 1
