"""Issue 13's forged evidence, on the real processes `haplan up` runs (T = 3 s): lab2's
collector identity (its subject `ha.sto.lab2`, its signing key from up's runtime directory)
claims lab1's slot shows lab1 fenced, or a new incarnation of lab1, over and over with fresh
beacons. None of it carries lab1's signature: lab1 is never declared dead, no copy of Minion 1
ever starts on lab2 (its disk log has lab1's writer only), and the arbiter logs the forgery.

Before signed slots this declared lab1 dead at once and two copies of Minion 1 wrote its disk.
"""

from __future__ import annotations

import asyncio

import nats

from schemas.messages import Beacon, SlotReading, StoreObservation
from schemas.slot import Slot
from services.common.heartbeat_store import decode_signed
from services.common.signing import HostSigner
from services.up.keys import key_path
from tests.integration.up.harness import Up, overlaps, writers

ROUNDS = 50  # one forged observation per interval (0.3 s): several times T_dead (4.2 s)
INTERVAL_S = 0.3


def _slot_file(up: Up, host: str) -> tuple[Slot, SlotReading]:
    """`host`'s slot as its file holds it, and a reading of it carrying its signed record."""
    raw = (up.runtime / "storage" / "shared" / "ha" / f"{host}.slot").read_bytes()
    slot, record = decode_signed(raw)
    assert record is not None, f"{host}'s slot is not signed"
    reading = SlotReading(
        host=host, incarnation=slot.incarnation, seq=slot.seq, stale_for_s=0.0,
        lease_ok=slot.lease_ok, fenced=slot.fenced, record=record,
    )  # fmt: skip
    return slot, reading


def _forged(up: Up, lab2_key: HostSigner, beacon: Beacon | None) -> StoreObservation:
    """What lab2 may publish: lab1 fenced and lab1 restarted, both signed with lab2's key;
    lab1's genuine record under a reading that says fenced."""
    lab1, genuine = _slot_file(up, "lab1")
    lab2, _ = _slot_file(up, "lab2")
    fenced = lab1.model_copy(update={"seq": lab1.seq + 1, "fenced": True, "beacon": beacon})
    later = lab1.model_copy(update={"incarnation": "lab1-forged", "seq": 1, "beacon": beacon})
    return StoreObservation(
        observer="lab2",
        incarnation=lab2.incarnation,
        beacon=beacon,
        readings=(
            genuine.model_copy(update={"seq": fenced.seq, "fenced": True,
                                       "record": lab2_key.sign(fenced.model_dump_json())}),
            genuine.model_copy(update={"incarnation": "lab1-forged", "seq": 1,
                                       "record": lab2_key.sign(later.model_dump_json())}),
            genuine.model_copy(update={"fenced": True}),
        ),
    )  # fmt: skip


async def _flood(up: Up, url: str, lab2_key: HostSigner) -> None:
    nc = await nats.connect(url, name="hostile-lab2")
    newest: list[Beacon] = []

    async def on_beacon(msg: object) -> None:
        newest[:] = [Beacon.model_validate_json(msg.data)]  # type: ignore[attr-defined]

    try:
        await nc.subscribe("ha.arb.beacon", cb=on_beacon)
        for _ in range(ROUNDS):
            obs = _forged(up, lab2_key, newest[0] if newest else None)
            await nc.publish("ha.sto.lab2", obs.model_dump_json().encode())
            await nc.flush()
            await asyncio.sleep(INTERVAL_S)
    finally:
        await nc.close()


def test_lab2_forging_lab1s_fenced_mark_and_new_incarnation_changes_nothing(up: Up) -> None:
    """The lab pool live with Minion 1 on lab1; lab2's identity publishes forged readings
    about lab1 for 50 intervals. lab1 is never fenced or declared dead, Minion 1 never starts
    on lab2 and its disk has one writer (lab1's), and the arbiter's log says it ignored
    forged readings from observer lab2 about lab1."""
    up.wait_live()
    record = up.record
    assert record is not None
    lab2_key = HostSigner.load(key_path(up.runtime, "lab2"))
    asyncio.run(_flood(up, record.nats_url, lab2_key))

    def forgery_logged() -> bool:
        log = up.log("arbiter")
        return "forged store reading ignored" in log and '"observer": "lab2"' in log

    up.eventually(forgery_logged, 10, "the arbiter logs lab2's forgery")
    assert up.events("host_fenced", host="lab1") == []
    assert up.events("host_declared_dead", host="lab1") == []
    assert up.events("vm_started", vm="Minion 1", host="lab2") == []
    assert up.events("vm_restart_ordered", vm="Minion 1", host="lab2") == []
    state = up.state()
    assert state is not None
    assert state == ({"lab1": "live", "lab2": "live"}, {"Minion 1": ("lab1", "running")})
    disk = up.disk()
    assert {h for h, _, _ in writers(disk).values()} == {"lab1"}
    assert overlaps(disk) == []
