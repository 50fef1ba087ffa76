"""The arbiter bounds what a host may say by the pool (services.arbiter.bounds), on a real
nats-server: a heartbeat larger than the pool allows is dropped before it is decoded, one
listing VMs the pool does not have after, both counted under the host that sent them, and a
burst of bad messages makes one log line per subject, not one per message."""

from __future__ import annotations

from collections.abc import Callable

from schemas.events import LeaderElected
from schemas.messages import NetworkHeartbeat
from tests.integration.arbiter.conftest import Pool
from tests.integration.arbiter.players import ArbiterProcess, eventually, first_event

BURST = 200


async def test_oversize_and_untrue_heartbeats_are_dropped_counted_and_logged_once(
    pool: Pool, spawn_arbiter: Callable[[str], ArbiterProcess]
) -> None:
    """5 KB of garbage on ha.hb.lab1 (over the lab pool's bound, under the pending limit) is
    counted `oversize` for lab1 and its log line gives the size, not a decoding error; a
    well-formed heartbeat of lab2 listing a VM the pool lacks is counted `malformed` for lab2;
    a burst of BURST more mutes lab1's heartbeat subject for T and makes a handful of lines
    about it, not one per message."""
    a1 = spawn_arbiter("a1")
    await eventually(lambda: first_event(pool.store, LeaderElected), 30, "a1 leads")
    await pool.nc.publish("ha.hb.lab1", b"x" * 5000)
    untrue = NetworkHeartbeat(host="lab2", incarnation="i", seq=1, lease_ok=True, store_ok=True,
                              vms=("not in the pool",))  # fmt: skip
    await pool.nc.publish("ha.hb.lab2", untrue.model_dump_json().encode())
    await pool.nc.flush()

    def count(host: str, reason: str) -> float:
        return a1.metric("haplan_arbiter_dropped_messages_total", host=host, reason=reason)

    async def both_counted() -> bool:
        return count("lab1", "oversize") == 1 and count("lab2", "malformed") == 1

    await eventually(both_counted, 30, "the oversize and the untrue heartbeat are counted")
    lines = [ln for ln in a1.log_lines() if ln.get("event") == "malformed message ignored"]
    [oversize] = [ln for ln in lines if ln["subject"] == "ha.hb.lab1"]
    assert "5000 bytes" in str(oversize["reason"])
    [untrue_line] = [ln for ln in lines if ln["subject"] == "ha.hb.lab2"]
    assert "does not have" in str(untrue_line["reason"])

    for _ in range(BURST):
        await pool.nc.publish("ha.hb.lab1", b"x" * 5000)
        await pool.nc.flush()

    async def muted() -> bool:
        dropped = sum(count("lab1", r) for r in ("oversize", "pending-limit"))
        muted = a1.metric("haplan_arbiter_muted_subjects_total", host="lab1")
        return dropped >= 4 and muted >= 1

    # 4 drops within a second mute the subject: the server stops sending the rest.
    await eventually(muted, 20, "the burst is counted and ha.hb.lab1 muted")
    about_lab1 = [
        ln for ln in a1.log_lines()
        if ln.get("subject") == "ha.hb.lab1" and ln.get("level") == "warning"
    ]  # fmt: skip
    # The first line, perhaps one after a 10-s window, and the notice that lab1's heartbeat
    # subject is muted (4 drops within a second): a handful, not BURST.
    assert len(about_lab1) <= 5, about_lab1
