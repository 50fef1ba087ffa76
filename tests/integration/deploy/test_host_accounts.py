"""One account per host's collector, the one way a configuration file bounds a host's
connections (docs/protocol.md, Per-credential limits), tried on the real nats-server: what it
bounds, what it carries, and what it costs. The layout is tests/integration/deploy/
host_accounts.py; the product still has one account (test_credential_limits.py)."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import nats.errors
import nats.js.errors
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from services.collector.lease import LeaseKeeper, open_lease_bucket
from services.common.eventstore import JetStreamEventStore
from services.common.natsserver import NatsServer, locate_nats_server
from services.common.subjects import EVENT_SUBJECTS, STREAM
from services.common.timers import Timers
from tests.integration.deploy import host_accounts
from tests.integration.deploy.host_accounts import CORE_USER, user

HOSTS = ["lab1", "lab2", "lab3"]
DEADLINE_S = 15.0
TIMERS = Timers.from_timeout(5.0)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[NatsServer]:
    config = tmp_path / "accounts.conf"
    config.write_text(host_accounts.render(HOSTS, max_connections=2))
    with NatsServer(config=config, store_dir=tmp_path / "nats") as running:
        yield running


@pytest.fixture
async def clients() -> AsyncIterator[list[Client]]:
    opened: list[Client] = []
    yield opened
    for nc in opened:
        if not nc.is_closed:
            await nc.close()


async def _connect(server: NatsServer, name: str, opened: list[Client]) -> Client:
    nc = await nats.connect(
        server.url, user=name, password=name, inbox_prefix=f"_INBOX.{name}",
        allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=DEADLINE_S,
    )  # fmt: skip
    opened.append(nc)
    return nc


async def _hears(nc: Client, subject: str) -> asyncio.Queue[Msg]:
    heard: asyncio.Queue[Msg] = asyncio.Queue()
    await nc.subscribe(subject, cb=heard.put)
    await nc.flush()
    return heard


async def _reached(sender: Client, subject: str, heard: asyncio.Queue[Msg]) -> None:
    """Wait until `heard` gets a probe `sender` publishes on `subject`: a message published at
    once after the subscriber's flush is sometimes not delivered, with one account as with
    several (bench/host_accounts.py), and these tests are about where messages may go."""
    deadline = asyncio.get_running_loop().time() + DEADLINE_S
    while asyncio.get_running_loop().time() < deadline:
        await sender.publish(subject, b"probe")
        try:
            if (await asyncio.wait_for(heard.get(), 0.2)).data == b"probe":
                return
        except TimeoutError:
            continue
    raise AssertionError(f"nothing published on {subject} was heard in {DEADLINE_S} s")


async def _next(heard: asyncio.Queue[Msg]) -> bytes:
    """The next message that is not a probe."""
    while (data := (await asyncio.wait_for(heard.get(), DEADLINE_S)).data) == b"probe":
        pass
    return data


def test_core_cannot_relay_heartbeats_between_host_accounts(tmp_path: Path) -> None:
    """Every host's heartbeat imported into CORE and CORE's `ha.hb.*` exported back to the
    hosts: the server refuses the file ("import forms a cycle"), so a host hears its peers only
    through one import per pair of hosts (n x (n - 1) imports for n hosts)."""
    config = tmp_path / "relayed.conf"
    config.write_text(host_accounts.render_relayed_heartbeats(HOSTS))
    done = subprocess.run(
        [str(locate_nats_server()), "-t", "-c", str(config)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    assert "import forms a cycle" in done.stderr + done.stdout


async def test_a_hosts_account_bounds_its_connections_only(
    server: NatsServer, clients: list[Client]
) -> None:
    """lab1's credential opens its account's 2 connections and a third is refused, while lab2's
    collector and the arbiter connect; lab1's heartbeat still reaches the arbiter and lab2,
    and lab2's reaches lab1 (the imports of host_accounts.py)."""
    arbiter = await _connect(server, CORE_USER, clients)
    lab1 = [await _connect(server, user("lab1"), clients) for _ in range(2)]
    with pytest.raises(nats.errors.Error, match="maximum account active connections"):
        await _connect(server, user("lab1"), clients)
    lab2 = await _connect(server, user("lab2"), clients)
    at_arbiter = await _hears(arbiter, "ha.hb.*")
    at_lab2 = await _hears(lab2, "ha.hb.lab1")
    at_lab1 = await _hears(lab1[0], "ha.hb.lab2")
    for sender, subject, heard in (
        (lab1[1], "ha.hb.lab1", at_lab2), (lab2, "ha.hb.lab2", at_lab1),
        (lab1[1], "ha.hb.lab1", at_arbiter), (lab2, "ha.hb.lab2", at_arbiter),
    ):  # fmt: skip
        await _reached(sender, subject, heard)
    await lab1[1].publish("ha.hb.lab1", b"lab1 beat")
    await lab2.publish("ha.hb.lab2", b"lab2 beat")
    assert {await _next(at_arbiter), await _next(at_arbiter)} == {b"lab1 beat", b"lab2 beat"}
    assert await _next(at_lab2) == b"lab1 beat"
    assert await _next(at_lab1) == b"lab2 beat"


async def test_a_collector_keeps_its_subjects_across_accounts(
    server: NatsServer, clients: list[Client]
) -> None:
    """Through the imports only: the arbiter's status request to lab1 is answered by lab1; its
    order for lab1 reaches lab1 and not lab2; lab1 renews its own host lease (the product's
    LeaseKeeper: bucket info, last-message get, compare-and-set write, all in CORE's
    JetStream) and reads the event log with an ordered consumer, as the collector does; lab1
    cannot write lab2's lease key (no import: nobody answers)."""
    arbiter = await _connect(server, CORE_USER, clients)
    await JetStreamEventStore.open(arbiter)
    await open_lease_bucket(arbiter, TIMERS, DEADLINE_S, replicas=1)
    await arbiter.jetstream().publish("ha.evt.pool", b"first event")
    lab1 = await _connect(server, user("lab1"), clients)
    lab2 = await _connect(server, user("lab2"), clients)

    status_probes: asyncio.Queue[Msg] = asyncio.Queue()

    async def answer(msg: Msg) -> None:
        if msg.reply:
            await msg.respond(b"lab1 status")
        else:
            await status_probes.put(msg)

    await lab1.subscribe("ha.status.lab1", cb=answer)
    await lab1.flush()
    await _reached(arbiter, "ha.status.lab1", status_probes)
    assert (await arbiter.request("ha.status.lab1", b"", timeout=DEADLINE_S)).data == (
        b"lab1 status"
    )

    orders_lab1 = await _hears(lab1, "ha.cmd.lab1")
    orders_lab2 = await _hears(lab2, "ha.cmd.*")
    await _reached(arbiter, "ha.cmd.lab1", orders_lab1)
    await _reached(arbiter, "ha.cmd.lab2", orders_lab2)
    await arbiter.publish("ha.cmd.lab1", b"order for lab1")
    await arbiter.publish("ha.cmd.lab2", b"order for lab2")
    assert await _next(orders_lab1) == b"order for lab1"
    assert await _next(orders_lab2) == b"order for lab2"

    keeper = LeaseKeeper(lab1, "lab1", "incarnation-1", TIMERS, timeout_s=DEADLINE_S)
    assert await keeper.renew()
    assert await keeper.renew()

    await JetStreamEventStore.open(lab1, request_timeout_s=DEADLINE_S)
    log: asyncio.Queue[Msg] = asyncio.Queue()
    await lab1.jetstream(timeout=DEADLINE_S).subscribe(
        EVENT_SUBJECTS, stream=STREAM, cb=log.put, ordered_consumer=True
    )
    assert (await asyncio.wait_for(log.get(), DEADLINE_S)).data == b"first event"

    with pytest.raises(nats.js.errors.NoStreamResponseError):
        await lab1.jetstream(timeout=DEADLINE_S).publish("$KV.ha_leases.host.lab2", b"forged")
    assert orders_lab2.empty()
