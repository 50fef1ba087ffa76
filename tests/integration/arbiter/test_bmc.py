"""The arbiter leader powers a silent host off through its BMC, a real Redfish server
(sushy-emulator, tests/fixtures/redfish.py, with no power delay), and declares it dead on the
confirmation: rule power_off with the BMC's answer in the event, before the timeout path could
(T = 10 s here: T_dead 14 s, so the BMC's answer does not race it); its VM is restarted
elsewhere and the audit re-derives every decision."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from schemas.events import HostDeclaredDead, HostJoined, PoolCreated, VMRestartOrdered
from schemas.fencing import FencingAgent
from schemas.pool import HAConfig
from services.arbiter.leases import open_bucket
from services.audit import verify
from services.bmc import agents
from services.common.eventstore import JetStreamEventStore
from services.common.natsserver import NatsServer
from services.common.timers import Timers
from tests.fixtures.events import lab_pool, make
from tests.fixtures.nats import connect_to
from tests.fixtures.redfish import Redfish, instant_redfish
from tests.integration.arbiter.conftest import Pool, Spawn, close_pool
from tests.integration.arbiter.players import (
    events,
    eventually,
    first_event,
)
from tests.integration.cli.runner import haplan

__all__ = ["instant_redfish"]
T = 10.0


def chain_of(server: Redfish) -> tuple[FencingAgent, ...]:
    return (
        FencingAgent(kind="redfish", address=server.url, system=server.system,
                     credential=f"file:{server.credential_file}", timeout_s=5.0),
    )  # fmt: skip


@pytest.fixture
async def fenced_pool(
    nats_server: NatsServer, tmp_path: Path, instant_redfish: Redfish
) -> AsyncIterator[Pool]:
    """The lab pool with T = 10 s, lab1 fenced through the emulator's system."""
    nc = await connect_to(nats_server.url)
    p: Pool | None = None
    try:
        pool = lab_pool()
        hosts = tuple(
            h.model_copy(update={"fencing": chain_of(instant_redfish)}) if h.name == "lab1" else h
            for h in pool.hosts
        )
        pool = pool.model_copy(
            update={"ha": HAConfig(host_failures_to_tolerate=1, timeout_s=T), "hosts": hosts}
        )
        store = await JetStreamEventStore.open(nc)
        await store.append([make(PoolCreated, epoch=0, pool=pool)], 0)
        kv = await open_bucket(nc.jetstream(), Timers.from_timeout(T))
        p = Pool(nats_server.url, nc, store, kv)
        (tmp_path / "store").mkdir()
        p.shared.directory = tmp_path / "store"
        yield p
    finally:
        await close_pool(nc, p)


async def joined(pool: Pool) -> None:
    """lab1 and lab2 joined (recorded, and each heard its acceptance); generous: the
    emulator and the arbiter start on a loaded machine."""

    async def both() -> bool:
        names = {r.event.host for r in await events(pool.store) if isinstance(r.event, HostJoined)}
        return names == {"lab1", "lab2"} and all(h.joined for h in pool.hosts)

    await eventually(both, 60, "lab1 and lab2 join the liveset")


async def test_a_silent_host_is_powered_off_by_its_bmc_and_declared_on_the_answer(
    fenced_pool: Pool,
    spawn_arbiter: Spawn,
    instant_redfish: Redfish,
    tmp_path: Path,
) -> None:
    """lab1 stops (no renewal, no slot write): once it is suspected and its slot has stood
    still for T in the leader's own reads, the leader powers it off through the emulator; the
    emulator reads off; lab1 is declared dead on rule power_off with the BMC's answer, before
    the timeout path holds; Minion 1 is ordered onto lab2; verify finds nothing. The operator's
    `haplan host power-on lab1` powers it on through the leader; lab2, without a chain, is
    refused (exit 2)."""
    pool = fenced_pool
    spawn_arbiter("a1", tmp_path / "store")
    lab1 = await pool.host("lab1", ("Minion 1",))
    await pool.host("lab2")
    await joined(pool)
    assert agents.power_state(chain_of(instant_redfish)[0]) == "on"
    await lab1.stop()
    dead = await eventually(
        lambda: first_event(pool.store, HostDeclaredDead), 60, "lab1 is declared dead"
    )
    assert isinstance(dead.event, HostDeclaredDead) and dead.event.host == "lab1"
    evidence = dead.event.evidence
    assert evidence.rule == "power_off" and evidence.power_off is not None
    assert evidence.power_off.power_state == "off"
    assert evidence.power_off.agent == f"redfish {instant_redfish.url}"
    assert evidence.incarnation == lab1.incarnation
    # The timeout rule comes first in the rules (services.arbiter.rules): power_off recorded
    # means the timeout path did not hold yet.
    assert agents.power_state(chain_of(instant_redfish)[0]) == "off"
    ordered = await eventually(
        lambda: first_event(pool.store, VMRestartOrdered), 30, "Minion 1 is ordered elsewhere"
    )
    assert isinstance(ordered.event, VMRestartOrdered) and ordered.event.host == "lab2"
    report = verify(await events(pool.store))
    assert report.ok, report.to_json()
    # Only the operator powers it back on: through the leader, which runs the chain.
    run = await haplan("host", "power-on", "lab1", url=pool.url)
    assert run.code == 0, run.err
    assert "powered on (On accepted)" in run.out
    assert agents.power_state(chain_of(instant_redfish)[0]) == "on"
    refused = await haplan("host", "power-on", "lab2", url=pool.url)
    assert refused.code == 2 and "host lab2 has no fencing chain" in refused.error_line()
