"""One collector credential flooding its own heartbeat subject (issue 14): heartbeats of lab2
padded to 17 KB and 900 KB, at full speed, for 3 T, on a real nats-server, while two real
arbiters run and lab1 and lab2 live as the protocol says. The arbiter drops the flood unread
(over the pool's size bound, or past lab2's pending limits), counts it under lab2, logs a few
lines, and nothing happens: no host suspected, no second election, nobody fenced or dead."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from schemas.events import HostDeclaredDead, HostFenced, HostSuspected, LeaderElected
from tests.integration.arbiter.conftest import Pool
from tests.integration.arbiter.flooder import flood_from_a_process
from tests.integration.arbiter.players import (
    TIMERS,
    ArbiterProcess,
    both_joined,
    elected,
    events,
    eventually,
    ready,
)

FLOOD_S = 3 * TIMERS.timeout_s
MOST_MESSAGES = 50_000


async def test_a_flood_on_one_hosts_heartbeat_subject_changes_nothing(
    pool: Pool, spawn_arbiter: Callable[[str], ArbiterProcess]
) -> None:
    """No HostSuspected, HostFenced or HostDeclaredDead, one LeaderElected only, through the
    flood and 2 T after it; the flood is counted as dropped for lab2 and the leader's log holds
    at most a few lines about it."""
    a1 = spawn_arbiter("a1")
    await elected(pool.store, "a1")
    a2 = spawn_arbiter("a2")
    await ready(a2)
    await pool.host("lab1", ("Minion 1",))
    await pool.host("lab2")
    await both_joined(pool.store, pool.hosts)
    before = len(await events(pool.store))

    await flood_from_a_process(pool.url, "lab2", FLOOD_S, MOST_MESSAGES)
    await asyncio.sleep(2 * TIMERS.timeout_s)  # anything the flood set off shows by now

    after = [r.event for r in (await events(pool.store))[before:]]
    harmful = (HostSuspected, HostFenced, HostDeclaredDead, LeaderElected)
    assert [e for e in after if isinstance(e, harmful)] == []
    assert a1.proc.poll() is None and a2.proc.poll() is None

    async def counted() -> float | None:
        dropped = sum(
            a1.metric("haplan_arbiter_dropped_messages_total", host="lab2", reason=reason)
            for reason in ("oversize", "pending-limit", "malformed")
        )
        return dropped or None

    await eventually(counted, 30, "the leader counts the flood as dropped for lab2")
    assert a1.metric("haplan_arbiter_dropped_messages_total", host="lab1", reason="oversize") == 0
    about_it = [
        line for line in a1.log_lines()
        if line.get("event") in ("malformed message ignored", "nats error")
        or "faster than they are read" in str(line.get("event"))
    ]  # fmt: skip
    # One line per subject and 10-s window at most: far fewer than the messages sent.
    assert len(about_it) <= 10, about_it[:3]
