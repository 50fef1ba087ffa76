"""connect(): reconnects forever, stops the service when closed, fails fast for commands."""

from __future__ import annotations

import asyncio
import time

import pytest
from nats.aio.client import Client

from services.common.bus import BusUnavailable, connect, stop_when_closed
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
