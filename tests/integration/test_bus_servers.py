"""Leaving a server that is up but does not answer (services.common.servers): a client of
`connect()` moved by the Mover reconnects to another server of its list, not the one it left,
on real nats-servers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import pytest

from services.common.bus import connect
from services.common.natsserver import NatsServer
from services.common.servers import Mover
from services.common.settings import BusSettings
from tests.fixtures.nats import started_server


@pytest.fixture
def two_servers() -> Iterator[tuple[NatsServer, NatsServer]]:
    first, second = started_server(), started_server()
    try:
        yield first, second
    finally:
        first.stop()
        second.stop()


async def _until(probe: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not probe():
        assert time.monotonic() < deadline, "not within the deadline"
        await asyncio.sleep(0.05)


async def test_unanswered_requests_move_the_client_to_the_other_server(
    two_servers: tuple[NatsServer, NatsServer],
) -> None:
    """Two servers listed; the client is on one. One unanswered request does not move it;
    a second in a row does, to the other server (every time: the server it left is tried
    last), and an answered request in between resets the count."""
    urls = ",".join(s.url for s in two_servers)
    nc = await connect(BusSettings(nats_url=urls), name="mover", initial_timeout_s=10)
    try:
        mover = Mover(nc, spacing_s=0.0)
        for _ in range(4):  # each move goes to the other server, never back to the same
            assert nc.connected_url is not None
            here = nc.connected_url.netloc
            mover.unanswered(time.monotonic())
            mover.answered()
            mover.unanswered(time.monotonic())
            assert nc.connected_url is not None and nc.connected_url.netloc == here
            mover.unanswered(time.monotonic())

            def moved(here: str = here) -> bool:
                url = nc.connected_url
                return nc.is_connected and url is not None and url.netloc != here

            await _until(moved)
        assert mover.moves == 4
    finally:
        await nc.close()


async def test_moves_are_spaced(two_servers: tuple[NatsServer, NatsServer]) -> None:
    """While every server stalls, unanswered requests move the client at most once per
    spacing: a second pair within it does not move it again."""
    urls = ",".join(s.url for s in two_servers)
    nc = await connect(BusSettings(nats_url=urls), name="mover", initial_timeout_s=10)
    try:
        mover = Mover(nc, spacing_s=3600.0)
        now = time.monotonic()
        mover.unanswered(now)
        mover.unanswered(now)
        await _until(lambda: nc.is_connected and mover.moves == 1)
        for _ in range(4):
            mover.unanswered(now + 1)
        assert mover.moves == 1
    finally:
        await nc.close()
