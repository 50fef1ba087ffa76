"""Issue 13's forged evidence, on the real processes `haplan up` runs (T = 3 s): lab2's
collector identity (its own NATS user from up's RUN/credentials, so only what the permission
model lets lab2 publish: its subject `ha.sto.lab2`; its signing key from up's runtime directory)
claims lab1's slot shows lab1 fenced, or a new incarnation of lab1, over and over with fresh
beacons. None of it carries lab1's signature: lab1 is never declared dead, no copy of Minion 1
ever starts on lab2 (its disk log has lab1's writer only), and the arbiter logs the forgery.

Before signed slots this declared lab1 dead at once and two copies of Minion 1 wrote its disk.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from services.common.identity import inbox_prefix
from services.common.signing import HostSigner
from services.up.credentials import collector_user, read_credential
from services.up.keys import key_path
from tests.fixtures.forgery import flood
from tests.fixtures.nats import connect_to
from tests.integration.up.harness import Up, overlaps, writers

ROUNDS = 50  # one forged observation per interval (0.3 s): several times T_dead (4.2 s)
INTERVAL_S = 0.3


async def _flood(up: Up, url: str, ha_dir: Path, lab2_key: HostSigner) -> list[str]:
    """Flood as lab2's collector user; the server's refusals (permissions), if any."""
    cred = read_credential(up.runtime / "credentials" / f"{collector_user('lab2')}.json")
    refused: list[str] = []

    async def on_error(exc: Exception) -> None:
        refused.append(str(exc))

    nc = await connect_to(
        url, name="hostile-lab2", user=cred.user, password=cred.password,
        inbox_prefix=inbox_prefix(cred.user), error_cb=on_error, connect_timeout=5,
    )  # fmt: skip
    try:
        await flood(nc, ha_dir, lab2_key, ROUNDS, INTERVAL_S)
        await nc.flush(timeout=5)
    finally:
        await nc.close()
    return refused


def test_lab2_forging_lab1s_fenced_mark_and_new_incarnation_changes_nothing(up: Up) -> None:
    """The lab pool live with Minion 1 on lab1; lab2's identity publishes forged readings
    about lab1 for 50 intervals with lab2's own NATS credential (the server lets it publish
    them: no refusal). lab1 is never fenced or declared dead, Minion 1 never starts
    on lab2 and its disk has one writer (lab1's), and the arbiter's log says it ignored
    forged readings from observer lab2 about lab1."""
    up.wait_live()
    record = up.record
    assert record is not None
    lab2_key = HostSigner.load(key_path(up.runtime, "lab2"))
    ha_dir = up.runtime / "storage" / "shared" / "ha"
    refused = asyncio.run(_flood(up, record.nats_url, ha_dir, lab2_key))
    assert refused == []

    def forgery_logged() -> bool:
        log = up.log("arbiter")
        return "forged store reading ignored" in log and '"observer": "lab2"' in log

    up.eventually(forgery_logged, 30, "the arbiter logs lab2's forgery")
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
