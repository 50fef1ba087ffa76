"""Leader election on a real nats-server: one leader with its epoch in the log, a lease
handed over at once on SIGTERM, a deposed leader that cannot write, and a failover that
fences nobody and declares nothing for T_dead."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from nats.aio.msg import Msg
from nats.js.kv import KeyValue

from schemas.events import (
    HostDeclaredDead,
    HostFenced,
    HostSuspected,
    LeaderElected,
    VMRestartOrdered,
    VMUnplaceable,
)
from services.arbiter.leader import LEADER_KEY, lease_holder
from services.arbiter.service import ArbiterService
from services.arbiter.view import Joined
from services.common.settings import BusSettings
from tests.fixtures.nats import connect_to
from tests.integration.arbiter.conftest import Pool
from tests.integration.arbiter.players import (
    TIMERS,
    ArbiterProcess,
    both_joined,
    elected,
    events,
    eventually,
    first_event,
    next_update,
    ready,
    status,
    stop_watching,
)

Spawn = Callable[[str], ArbiterProcess]


async def test_a_single_arbiter_leads_and_records_leader_elected_with_its_epoch(
    pool: Pool, spawn_arbiter: Spawn
) -> None:
    """The only candidate creates the `arbiter` key; the revision of that write is its epoch,
    recorded by leader_elected right after the pool; it answers status and says it leads."""
    watcher = await pool.kv.watch(LEADER_KEY)
    a1 = spawn_arbiter("a1")

    async def first_write() -> KeyValue.Entry | None:
        entry = await next_update(watcher)
        return entry if entry is not None and entry.operation is None else None

    won = await eventually(first_write, 30, "someone writes the leader lease")
    await stop_watching(watcher)
    assert lease_holder(won.value) == "a1"
    event = await elected(pool.store, "a1")
    assert event.epoch == won.revision
    kinds = [r.event.type for r in await events(pool.store)]
    assert kinds[:2] == ["pool_created", "leader_elected"]
    answer = await eventually(lambda: status(pool.nc), 30, "the leader answers status")
    assert answer["leader"] == "a1" and answer["pool"] == "Lab pool"
    assert a1.metric("haplan_arbiter_leader") == 1
    assert a1.metric("haplan_arbiter_epoch") == won.revision


async def test_sigterm_hands_the_lease_to_a_standby_at_once(
    pool: Pool, spawn_arbiter: Spawn
) -> None:
    """A leader stopped by SIGTERM exits 0 and deletes its lease, so the standby takes the
    released lease instead of waiting for it to expire."""
    a1 = spawn_arbiter("a1")
    first = await elected(pool.store, "a1")
    a2 = spawn_arbiter("a2")
    await ready(a2)
    await asyncio.sleep(2 * TIMERS.interval_s)  # a2 has read the lease: it is a standby
    assert a1.terminate() == 0
    second = await elected(pool.store, "a2", timeout=TIMERS.leader_lease_s + 30)
    assert second.epoch > first.epoch
    assert any(line.get("event") == "leader lease released" for line in a1.log_lines())
    # Taken as released, not as expired (how long either takes is bench work, not a test's).
    said = [line.get("event") for line in a2.log_lines()]
    assert "won the leader lease" in said and "the leader lease expired" not in said, said


@asynccontextmanager
async def in_process(pool: Pool, ident: str) -> AsyncIterator[ArbiterService]:
    """An arbiter in this test process, driven step by step (no loops of its own)."""
    nc = await connect_to(pool.url)
    service = ArbiterService(nc, BusSettings(nats_url=pool.url), ident)
    try:
        assert await service.open(asyncio.Event())
        yield service
    finally:
        await service.close()
        await nc.close()


async def lead(service: ArbiterService) -> int:
    await service.campaign()
    await service.step()
    assert service.leading and service.office is not None
    return service.office.epoch


def sample(service: ArbiterService, name: str) -> float:
    value = service.metrics.registry.get_sample_value(name)
    return 0.0 if value is None else value


async def test_a_deposed_leader_cannot_append_and_steps_down(pool: Pool) -> None:
    """A leader frozen while its lease lapsed (its view of the log is stale) tries to append:
    the newer leader's leader_elected makes the append fail with a conflict, it steps down,
    and nothing of its epoch lands after the new election; the new leader appends fine."""
    async with in_process(pool, "old") as old, in_process(pool, "new") as new:
        old_epoch = await lead(old)
        await pool.kv.delete(LEADER_KEY)  # old is frozen: its lease lapses for everyone else
        new_epoch = await lead(new)
        assert new_epoch > old_epoch

        assert await old.record([Joined("lab1", "stale-boot")]) is False
        assert not old.leading and not old.core.is_leader
        assert sample(old, "haplan_arbiter_append_conflicts_total") == 1

        log = await events(pool.store)
        election = next(r.seq for r in log if isinstance(r.event, LeaderElected)
                        and r.event.arbiter == "new")  # fmt: skip
        assert [r.event.epoch for r in log if r.seq > election] == []
        assert await new.record([Joined("lab1", "fresh-boot")]) is True
        assert (await events(pool.store))[-1].event.epoch == new_epoch


async def test_a_deposed_leader_reads_the_newer_election_and_sends_nothing(pool: Pool) -> None:
    """A frozen leader that wakes up folds the log before its tick: it sees the newer
    leader's election and steps down without appending or publishing a beacon (a leader's
    tick always publishes one)."""
    beacons: list[bytes] = []

    async with in_process(pool, "old") as old, in_process(pool, "new") as new:
        await lead(old)
        await pool.kv.delete(LEADER_KEY)
        await lead(new)

        async def heard(msg: Msg) -> None:
            beacons.append(msg.data)

        sub = await pool.nc.subscribe("ha.arb.beacon", cb=heard)
        await pool.nc.flush()
        before = await pool.store.last_seq()

        await old.step()
        await asyncio.sleep(3 * TIMERS.interval_s)
        await sub.unsubscribe()
        assert not old.leading
        assert await pool.store.last_seq() == before
        assert not [b for b in beacons if b'"leader":"old"' in b]


async def test_failover_fences_nobody_and_declares_nothing(
    pool: Pool, spawn_arbiter: Spawn
) -> None:
    """Kill -9 of the leader while both hosts are healthy: the standby takes over once the
    lease lapses, and for T_dead and beyond no host is suspected, fenced or declared dead and
    no VM is moved; both hosts stay live members."""
    a1 = spawn_arbiter("a1")
    first = await elected(pool.store, "a1")
    await pool.host("lab1", ("Minion 1",))
    await pool.host("lab2")
    await both_joined(pool.store, pool.hosts)
    await ready(spawn_arbiter("a2"))

    a1.kill()
    second = await elected(pool.store, "a2", timeout=TIMERS.leader_lease_s + 5)
    assert second.epoch > first.epoch
    await asyncio.sleep(TIMERS.t_dead_s + 4 * TIMERS.interval_s)

    kinds = (HostSuspected, HostFenced, HostDeclaredDead, VMRestartOrdered, VMUnplaceable)
    assert [r.event.type for r in await events(pool.store) if isinstance(r.event, kinds)] == []
    answer = await eventually(lambda: status(pool.nc), 30, "the new leader answers status")
    assert answer["leader"] == "a2"
    assert [(h["name"], h["state"], h["in_liveset"]) for h in answer["hosts"]] == [
        ("lab1", "live", True),
        ("lab2", "live", True),
    ]


async def test_after_a_failover_a_powered_off_host_is_declared_dead_no_sooner_than_t_dead(
    pool: Pool, spawn_arbiter: Spawn
) -> None:
    """lab1 loses power as the leader is killed: the new leader knows nothing of lab1's past,
    so it waits T_dead from its election before declaring lab1 dead (by timeout, lab2
    reading lab1's slot still), then restarts Minion 1 on lab2."""
    a1 = spawn_arbiter("a1")
    await elected(pool.store, "a1")
    lab1 = await pool.host("lab1", ("Minion 1",))
    lab2 = await pool.host("lab2")
    await both_joined(pool.store, pool.hosts)
    await ready(spawn_arbiter("a2"))

    await lab1.stop()
    a1.kill()
    second = await elected(pool.store, "a2", timeout=TIMERS.leader_lease_s + 5)
    dead = await eventually(
        lambda: first_event(pool.store, HostDeclaredDead),
        TIMERS.t_dead_s + 5,
        "lab1 is declared dead",
    )
    assert isinstance(dead.event, HostDeclaredDead) and dead.event.host == "lab1"
    evidence = dead.event.evidence
    assert evidence.rule == "timeout" and evidence.incarnation == lab1.incarnation
    assert evidence.leader_for_s >= TIMERS.t_dead_s
    assert evidence.slot_stale is not None and evidence.slot_stale.observer == "lab2"
    assert (dead.event.at - second.at).total_seconds() >= TIMERS.t_dead_s - 0.05
    assert dead.event.epoch == second.epoch
    ordered = await eventually(
        lambda: first_event(pool.store, VMRestartOrdered), 30, "Minion 1 is ordered to restart"
    )
    assert isinstance(ordered.event, VMRestartOrdered)
    assert (ordered.event.vm, ordered.event.host) == ("Minion 1", "lab2")
    assert ordered.event.incarnation == lab2.incarnation
