"""A hostile host's forged store readings (docs/protocol.md, Signed slots), against a real
arbiter process: lab2 publishes on its own `ha.sto.lab2` what its credential allows, claiming
lab1 fenced or restarted. None of it is lab1's signature, so lab1 is never marked, declared
dead or robbed of its VM, and every forged reading is logged and counted against lab2."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from schemas.events import (
    HostDeclaredDead,
    HostFenced,
    HostKeyTrusted,
    LeaderElected,
    VMRestartOrdered,
)
from schemas.messages import StoreObservation
from services.common.signing import HostSigner, signature_holds
from services.common.subjects import encode_token
from services.sim.hostile import forgeries
from tests.integration.arbiter.conftest import Pool
from tests.integration.arbiter.players import (
    SIGNERS,
    TIMERS,
    ArbiterProcess,
    Host,
    Slot,
    both_joined,
    events,
    eventually,
    first_event,
    signed_record,
    slot_body,
    status,
)
from tests.integration.cli.runner import haplan

FORGED_PER_ROUND = 4
ROUNDS = 40  # 40 intervals of 0.2 s: several times T_dead


def forged_observation(lab1: Host, lab2: Host) -> StoreObservation:
    """What lab2 may say on ha.sto.lab2 about lab1 (services.sim.hostile.forgeries): its
    fenced slot and a later incarnation, both signed with lab2's own key; lab1's genuine
    record under a reading that says fenced; and a fenced claim with no record at all."""
    current = lab2.store.slots["lab1"]
    assert current.incarnation == lab1.incarnation
    genuine = signed_record("lab1", current)
    forged = forgeries(
        slot_body("lab1", current), genuine, SIGNERS["lab2"], lab2.beacon, "lab1-forged"
    )
    bare = forged[-1].model_copy(update={"record": None})
    return StoreObservation(
        observer="lab2", incarnation=lab2.incarnation, beacon=lab2.beacon, readings=(*forged, bare)
    )


async def test_forged_fenced_marks_and_incarnations_change_nothing_and_are_counted(
    pool: Pool, spawn_arbiter: Callable[[str], ArbiterProcess]
) -> None:
    """lab1 and lab2 live; for 40 intervals lab2 publishes forged readings about lab1 on its
    own subject (echoing the newest beacon, so they are fresh). lab1 is never fenced or
    declared dead and Minion 1 is never ordered elsewhere; the arbiter counts 4 forgeries per
    round in haplan_arbiter_forgeries{observer="lab2"} and logs them (rate-limited)."""
    a1 = spawn_arbiter("a1")
    await eventually(lambda: first_event(pool.store, LeaderElected), 30, "a1 leads")
    lab1 = await pool.host("lab1", ("Minion 1",))
    lab2 = await pool.host("lab2")
    await both_joined(pool.store, pool.hosts)

    async def flood() -> None:
        for _ in range(ROUNDS):
            obs = forged_observation(lab1, lab2)
            await pool.nc.publish(f"ha.sto.{encode_token('lab2')}", obs.model_dump_json().encode())
            await asyncio.sleep(TIMERS.interval_s)

    hostile = asyncio.create_task(flood())
    try:

        async def all_counted() -> bool:
            counted = a1.metric("haplan_arbiter_forgeries_total", observer="lab2")
            return counted >= FORGED_PER_ROUND * ROUNDS

        await eventually(all_counted, 60, "every forged reading counted against lab2")
    finally:
        hostile.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await hostile
    logged = [e for e in a1.log_lines() if e.get("event") == "forged store reading ignored"]
    assert logged and {(line["observer"], line["host"]) for line in logged} == {("lab2", "lab1")}
    # Rate-limited: one line per (observer, host) a minute, not one per forged reading.
    assert len(logged) == 1
    recorded = [r.event for r in await events(pool.store)]
    harmful = (HostFenced, HostDeclaredDead, VMRestartOrdered)
    assert [e for e in recorded if isinstance(e, harmful)] == []
    answer = await status(pool.nc)
    assert answer is not None
    assert {h["name"]: h["state"] for h in answer["hosts"]} == {"lab1": "live", "lab2": "live"}
    assert a1.proc.poll() is None


async def test_host_trust_replaces_the_key_a_hosts_word_is_checked_with(
    pool: Pool, spawn_arbiter: Callable[[str], ArbiterProcess]
) -> None:
    """`haplan host trust lab1 NEWKEY` is recorded (host_key_trusted) and the leader checks
    with it at once: lab1's fenced slot signed with the old key then counts as a forgery, the
    same slot signed with the new key is lab1's word (host_fenced, carrying that record)."""
    a1 = spawn_arbiter("a1")
    await eventually(lambda: first_event(pool.store, LeaderElected), 30, "a1 leads")
    lab1 = await pool.host("lab1", ("Minion 1",))
    lab2 = await pool.host("lab2")
    await both_joined(pool.store, pool.hosts)
    new = HostSigner.generate()
    run = await haplan("host", "trust", "lab1", new.public, "--json", url=pool.url)
    assert run.code == 0, run.err
    await eventually(lambda: first_event(pool.store, HostKeyTrusted), 30, "host_key_trusted")

    async def publish(signer: HostSigner) -> None:
        current = lab2.store.slots["lab1"]
        fenced = Slot(lab1.incarnation, current.seq, True, beacon=lab2.beacon)
        base = next(r for r in lab2.store.readings("hostile", 0.0) if r.host == "lab1")
        reading = base.model_copy(
            update={"fenced": True, "record": signed_record("lab1", fenced, signer)}
        )
        obs = StoreObservation(observer="lab2", incarnation=lab2.incarnation, beacon=lab2.beacon,
                               readings=(reading,))  # fmt: skip
        await pool.nc.publish(f"ha.sto.{encode_token('lab2')}", obs.model_dump_json().encode())

    async def old_key_refused() -> bool:
        await publish(SIGNERS["lab1"])
        return a1.metric("haplan_arbiter_forgeries_total", observer="lab2") >= 3

    await eventually(old_key_refused, 30, "lab1's old key counted as a forgery")
    assert await first_event(pool.store, HostFenced) is None

    async def new_key_taken() -> HostFenced | None:
        await publish(new)
        found = await first_event(pool.store, HostFenced)
        return found.event if found is not None else None  # type: ignore[return-value]

    fenced = await eventually(new_key_taken, 30, "lab1's mark signed with the new key taken")
    assert fenced.mark.record is not None and fenced.mark.observer == "lab2"
    assert signature_holds(new.public, fenced.mark.record)
