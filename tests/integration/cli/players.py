"""What the CLI tests run around `haplan`: a real ArbiterService leading on the test's loop,
and played services (a leader, a planner) that answer on the bus with what a test scripts, so
that every reply the contract allows can be checked end to end."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg

from schemas.ops import OpReply
from services.arbiter.service import ArbiterService
from services.common.settings import BusSettings
from tests.fixtures.nats import connect_to
from tests.integration.arbiter.conftest import bounded
from tests.integration.arbiter.players import eventually, status


@contextlib.asynccontextmanager
async def leading_arbiter(url: str, ident: str) -> AsyncIterator[ArbiterService]:
    """`haplan arbiter`'s service in this process, running its own loops, once it leads and
    answers ha.op.status; stopped (its lease released) at the end."""
    nc = await connect_to(url)
    service = ArbiterService(nc, BusSettings(nats_url=url), ident)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    try:
        await eventually(lambda: status(nc), 30, f"arbiter {ident} leads and answers status")
        yield service
    finally:
        stop.set()
        await bounded(task, f"stopping arbiter {ident}")
        await nc.close()


class PlayedLeader:
    """Answers `ha.op.<verb>` with the reply a test sets per verb, and keeps every request.
    Verbs without a reply (and ha.op.status unless `status` is set) get no subscriber."""

    def __init__(self, nc: Client, replies: dict[str, OpReply], status: dict[str, Any] | None):
        self.nc, self.replies, self.status = nc, replies, status
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._subs: list[Any] = []

    async def start(self) -> None:
        for verb in self.replies:
            self._subs.append(await self.nc.subscribe(f"ha.op.{verb}", cb=self._answer))
        if self.status is not None:
            self._subs.append(await self.nc.subscribe("ha.op.status", cb=self._status))
        await self.nc.flush()

    async def _answer(self, msg: Msg) -> None:
        verb = msg.subject.removeprefix("ha.op.")
        self.requests.append((verb, json.loads(msg.data)))
        await msg.respond(self.replies[verb].model_dump_json().encode())

    async def _status(self, msg: Msg) -> None:
        await msg.respond(json.dumps({"ok": True, **(self.status or {})}).encode())

    async def stop(self) -> None:
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()


@contextlib.asynccontextmanager
async def played_leader(
    nc: Client, replies: dict[str, OpReply], status: dict[str, Any] | None = None
) -> AsyncIterator[PlayedLeader]:
    leader = PlayedLeader(nc, replies, status)
    await leader.start()
    try:
        yield leader
    finally:
        await leader.stop()


@contextlib.asynccontextmanager
async def played_planner(
    nc: Client, body: bytes, headers: dict[str, str] | None = None
) -> AsyncIterator[list[bytes]]:
    """Answers `planner.plan` with `body` (and service-error `headers`); yields the requests."""
    requests: list[bytes] = []

    async def answer(msg: Msg) -> None:
        requests.append(msg.data)
        assert msg.reply
        await nc.publish(msg.reply, body, headers=headers)

    sub = await nc.subscribe("planner.plan", cb=answer)
    await nc.flush()
    try:
        yield requests
    finally:
        await sub.unsubscribe()
