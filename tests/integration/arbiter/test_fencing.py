"""The arbiter carries out the core's liveness decisions on a real nats-server: a host whose
collector says it fenced is declared dead with the evidence, its lease is revoked, and its
protected VM is restarted on a liveset member, with the order addressed to that member's
incarnation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from nats.js.kv import KV_DEL

from schemas.events import HostDeclaredDead, HostFenced, LeaderElected, VMRestartOrdered, VMStarted
from schemas.messages import StartOrder
from services.audit import verify
from services.common.lease_bucket import host_lease_key
from tests.integration.arbiter.conftest import Pool
from tests.integration.arbiter.players import (
    TIMERS,
    ArbiterProcess,
    both_joined,
    events,
    eventually,
    first_event,
    next_update,
    status,
    stop_watching,
)


async def test_a_host_that_says_fenced_is_declared_dead_and_its_vm_restarted_elsewhere(
    pool: Pool, spawn_arbiter: Callable[[str], ArbiterProcess]
) -> None:
    """lab1 fences (fenced on the bus and in its slot, no more renewals): the leader records
    host_fenced then host_declared_dead by the fast path with lab1's mark as evidence, deletes
    lab1's lease, orders Minion 1 onto lab2 for lab2's incarnation (on ha.cmd.lab2), and
    records vm_started once lab2 runs it. The audit re-derives every decision of the log."""
    a1 = spawn_arbiter("a1")
    election = await eventually(lambda: first_event(pool.store, LeaderElected), 30, "a1 leads")
    elected_seen = time.monotonic()
    lab1 = await pool.host("lab1", ("Minion 1",))
    lab2 = await pool.host("lab2")
    await both_joined(pool.store, pool.hosts)
    # The fast path too waits until the leader has led for T_dead.
    await asyncio.sleep(max(0.0, elected_seen + TIMERS.t_dead_s + 0.2 - time.monotonic()))
    lab1_lease = await pool.kv.watch(host_lease_key("lab1"))

    await lab1.fence()
    dead = await eventually(
        lambda: first_event(pool.store, HostDeclaredDead), 30, "lab1 is declared dead"
    )
    assert isinstance(dead.event, HostDeclaredDead) and dead.event.host == "lab1"
    evidence = dead.event.evidence
    assert evidence.rule == "fenced" and evidence.incarnation == lab1.incarnation
    assert evidence.fenced_mark is not None
    assert evidence.fenced_mark.incarnation == lab1.incarnation
    assert not evidence.lease_renewed_since_mark
    assert dead.event.epoch == election.event.epoch
    fenced = await first_event(pool.store, HostFenced)
    assert fenced is not None and fenced.seq < dead.seq

    async def revoked() -> bool:
        entry = await next_update(lab1_lease)
        return entry is not None and entry.operation == KV_DEL

    await eventually(revoked, 30, "lab1's lease is deleted")
    await stop_watching(lab1_lease)

    ordered = await eventually(
        lambda: first_event(
            pool.store, VMRestartOrdered, lambda e: getattr(e, "host", None) == "lab2"
        ),
        30,
        "Minion 1 is ordered to restart",
    )
    assert isinstance(ordered.event, VMRestartOrdered) and ordered.seq > dead.seq
    assert (ordered.event.vm, ordered.event.host) == ("Minion 1", "lab2")
    assert ordered.event.incarnation == lab2.incarnation

    async def order_heard() -> StartOrder | None:
        return next((o for o in lab2.orders if o.vm == "Minion 1"), None)

    order = await eventually(order_heard, 30, "lab2 hears the order on ha.cmd.lab2")
    assert (order.host, order.incarnation) == ("lab2", lab2.incarnation)
    started = await eventually(
        lambda: first_event(pool.store, VMStarted), 30, "Minion 1 is recorded started"
    )
    assert isinstance(started.event, VMStarted)
    assert (started.event.host, started.event.incarnation) == ("lab2", lab2.incarnation)
    assert started.event.instance == order.order_id

    assert a1.metric("haplan_arbiter_leases_revoked_total") == 1
    assert a1.metric("haplan_arbiter_decisions_total", type="host_declared_dead") == 1
    report = verify(await events(pool.store))
    assert report.differences == [] and report.unconfirmed == []
    answer = await status(pool.nc)
    assert answer is not None
    assert {h["name"]: h["state"] for h in answer["hosts"]} == {"lab1": "dead", "lab2": "live"}
    assert answer["vms"] == [{"name": "Minion 1", "host": "lab2", "power_state": "running",
        "ha_restart_priority": "restart", "order": 0, "memory_mib": 4160}]
