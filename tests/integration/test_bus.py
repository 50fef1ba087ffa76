"""connect(): reconnects forever, stops the service when closed, fails fast for commands;
messages nats-py drops are told to the part that owns their subscription."""

from __future__ import annotations

import asyncio
import time

import pytest
from nats.aio.client import Client
from nats.aio.subscription import Subscription

from services.collector import wire
from services.collector.peers import PeerHeartbeats
from services.common.bus import BusUnavailable, connect, on_slow_consumer, stop_when_closed
from services.common.natsserver import NatsServer, free_port
from services.common.settings import BusSettings


async def _roundtrip(nc: Client, subject: str) -> bytes:
    sub = await nc.subscribe(subject)
    await nc.publish(subject, b"ping")
    msg = await sub.next_msg(timeout=5)
    await sub.unsubscribe()
    return bytes(msg.data)


async def test_a_service_connection_survives_a_server_restart(nats_server: NatsServer) -> None:
    """When NATS goes away the client keeps trying (the service is not stopped), and once
    the server is back on its port, traffic flows again."""
    stop = asyncio.Event()
    nc = await connect(
        BusSettings(nats_url=nats_server.url), name="svc", on_closed=stop_when_closed(stop)
    )
    try:
        assert await _roundtrip(nc, "t.before") == b"ping"
        nats_server.kill()
        await asyncio.sleep(1.5)  # several reconnect attempts fail meanwhile
        assert not nc.is_connected and not nc.is_closed
        assert not stop.is_set()
        await asyncio.to_thread(nats_server.start)
        deadline = time.monotonic() + 10
        while not nc.is_connected and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert await _roundtrip(nc, "t.after") == b"ping"
    finally:
        await nc.close()
    assert stop.is_set()


async def test_closing_the_connection_stops_the_service() -> None:
    """on_closed runs when the connection is closed for good: the service's stop event."""
    with NatsServer() as server:
        stop = asyncio.Event()
        nc = await connect(
            BusSettings(nats_url=server.url), name="svc", on_closed=stop_when_closed(stop)
        )
        await nc.close()
        await asyncio.wait_for(stop.wait(), 30)


async def test_a_service_waits_for_nats_to_come_up() -> None:
    """Without a timeout, connect() waits for a server that is not up yet."""
    port = free_port()
    task = asyncio.create_task(
        connect(BusSettings(nats_url=f"nats://127.0.0.1:{port}"), name="svc")
    )
    await asyncio.sleep(1.0)
    assert not task.done()
    server = await asyncio.to_thread(NatsServer.start_new, port=port)
    try:
        nc = await asyncio.wait_for(task, 10)
        assert nc.is_connected
        await nc.close()
    finally:
        server.stop()


async def test_a_command_gets_a_clear_error_when_nothing_listens() -> None:
    """With a timeout, an unreachable NATS raises BusUnavailable naming the servers: the
    command gives up instead of retrying for ever."""
    url = f"nats://127.0.0.1:{free_port()},127.0.0.1:{free_port()}"
    # Retrying for ever instead of giving up would end in the outer TimeoutError.
    with pytest.raises(BusUnavailable, match=r"cannot reach NATS at nats://127\.0\.0\.1:\d+,"):
        await asyncio.wait_for(
            connect(BusSettings(nats_url=url), name="cli", initial_timeout_s=0.5), 30
        )


async def test_dropped_messages_are_told_to_their_subscriptions_owner_only(
    nats_server: NatsServer,
) -> None:
    """A collector's client also carries its command subscription: messages nats-py drops
    there (a full pending queue) go to the hook that owns that subscription, and are not
    counted as dropped peer heartbeats by the collector's peer listener."""
    nc = await connect(BusSettings(nats_url=nats_server.url), name="collector-lab1")
    try:
        commands: list[str] = []
        blocked = asyncio.Event()

        async def busy(msg: object) -> None:
            await blocked.wait()  # never reads on: the queue fills

        orders = await nc.subscribe(wire.command_subject("lab1"), cb=busy, pending_msgs_limit=2)

        def owner(sub: Subscription, subject: str) -> bool:
            if sub is not orders:
                return False
            commands.append(subject)
            return True

        on_slow_consumer(nc, owner)
        peers = PeerHeartbeats(nc, frozenset({"lab2"}), lambda s, d: None, lambda m, w: None, 30.0)
        await peers.start()
        try:
            deadline = time.monotonic() + 30
            while not commands and time.monotonic() < deadline:
                for _ in range(20):
                    await nc.publish(wire.command_subject("lab1"), b"{}")
                await nc.flush()
                await asyncio.sleep(0.05)
            assert commands and set(commands) == {wire.command_subject("lab1")}
            assert peers.dropped == 0
        finally:
            blocked.set()
            await peers.stop()
    finally:
        await nc.close()
