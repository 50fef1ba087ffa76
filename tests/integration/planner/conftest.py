"""Fixtures of the planner service tests: a real nats-server with an empty event log, planner
replicas (the real PlannerService, each on its own connection) stopped whatever happens, and
helpers to ask them and to read what they recorded."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import NoRespondersError

from schemas.events import Event, PlanComputed
from services.common.bus import connect
from services.common.eventstore import JetStreamEventStore, Recorded
from services.common.natsserver import NatsServer
from services.common.settings import BusSettings
from services.planner.service.service import PlannerService
from tests.fixtures.nats import connect_to

QUIET_S = 0.05  # short debounce: the tests append one change at a time and wait for its plan


class ServiceError(Exception):
    def __init__(self, code: str, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code, self.description = code, description


@dataclass
class Bus:
    url: str
    nc: Client
    store: JetStreamEventStore
    replicas: list[PlannerService] = field(default_factory=list)
    _connections: list[Client] = field(default_factory=list)

    async def planner(self, ident: str, **options: Any) -> PlannerService:
        """A started replica on a connection of its own."""
        settings = BusSettings(nats_url=self.url)
        nc = await connect(settings, name=f"test-planner-{ident}", initial_timeout_s=5)
        self._connections.append(nc)
        options.setdefault("quiet_s", QUIET_S)
        replica = PlannerService(nc, settings, ident, **options)
        await replica.start()
        self.replicas.append(replica)
        return replica

    async def ask(self, endpoint: str, request: Any = None, timeout: float = 30) -> Any:
        """The JSON reply of `planner.<endpoint>`; ServiceError for a service error."""
        data = b"" if request is None else json.dumps(request).encode()
        reply = await request_to(self.nc, f"planner.{endpoint}", data, timeout=timeout)
        raise_service_error(reply)
        return json.loads(reply.data)

    async def append(self, *events: Event) -> int:
        """Append as an operator's bootstrap would, after whatever the log holds."""
        return await self.store.append(list(events), await self.store.last_seq())

    async def log(self) -> list[Recorded]:
        return [r async for r in self.store.read(1)]

    async def plan_after(self, seq: int, timeout: float = 20) -> list[Recorded]:
        """Wait for a plan based on `seq` or later; the log's entries after `seq`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            entries = [r async for r in self.store.read(seq + 1)]
            if any(
                isinstance(r.event, PlanComputed) and r.event.based_on_seq >= seq for r in entries
            ):
                await asyncio.sleep(0.1)  # an alarm is in the same append; let it be read too
                return [r async for r in self.store.read(seq + 1)]
            if loop.time() > deadline:
                kinds = [r.event.type for r in entries]
                raise AssertionError(f"no plan based on {seq} within {timeout} s: {kinds}")
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        for replica in self.replicas:
            await asyncio.wait_for(replica.stop(), 10)
        for nc in self._connections:
            await nc.close()


async def request_to(nc: Client, subject: str, data: bytes, timeout: float = 30) -> Msg:
    """A request, sent again while the server says nobody listens: nats-server (2.15) now
    and then answers "no responders" to a request made right after the responder's
    subscription was flushed, about once in a hundred fresh subscriptions."""
    for _ in range(20):
        try:
            return await nc.request(subject, data, timeout=timeout)
        except NoRespondersError:
            await asyncio.sleep(0.05)
    return await nc.request(subject, data, timeout=timeout)


def raise_service_error(reply: Msg) -> None:
    headers = reply.headers or {}
    if "Nats-Service-Error-Code" in headers:
        raise ServiceError(headers["Nats-Service-Error-Code"], headers["Nats-Service-Error"])


async def gather_replies(nc: Client, subject: str, wait_s: float = 1.0) -> list[Any]:
    """Every reply to one request on `subject` within `wait_s` (a PING answers once per
    replica)."""
    inbox = nc.new_inbox()
    replies: list[Any] = []

    async def collect(msg: Msg) -> None:
        replies.append(json.loads(msg.data))

    sub = await nc.subscribe(inbox, cb=collect)
    await nc.publish(subject, b"", reply=inbox)
    await asyncio.sleep(wait_s)
    await sub.unsubscribe()
    return replies


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


@pytest.fixture
async def bus(nats_server: NatsServer) -> AsyncIterator[Bus]:
    """A fresh event log on a private nats-server; replicas made with `bus.planner(ID)`."""
    nc = await connect_to(nats_server.url)
    b = Bus(nats_server.url, nc, await JetStreamEventStore.open(nc))
    try:
        yield b
    finally:
        try:
            await b.close()
        finally:
            await nc.close()
