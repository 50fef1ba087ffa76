"""Which NATS server of the cluster a client talks to, and leaving one that is up but cut off.

A cut route in a 3-node cluster leaves every server running and every client connected, but a
server on one side of the cut no longer reaches the JetStream leader on the other: a request
through it goes unanswered (no responders, or a timeout) while its connection is fine, so
neither the connection's pings nor the library's reconnection ever move the client. A host
whose lease renewals go unanswered that way would fence, healthy as it is, while its peers on
other servers renew (docs/protocol.md, NATS cluster faults). So a service that sees its
requests go unanswered while connected moves to another server (`Mover`), and every
reconnection, forced or not, tries the other servers before the one it left (`NextServer`):
nats-py's own choice may reconnect to the very server it left.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

from nats.aio.client import Client, Server

from services.common.logging import get_logger

log = get_logger("haplan.bus")

# Between two attempts on the same server (nats-py's reconnect_time_wait, which a selection
# handler replaces): short, see services.common.bus.
RETRY_WAIT_S = 0.1


class NextServer:
    """nats-py's `reconnect_to_server_handler`: the server tried least recently, the one the
    client was connected to last of all, ties broken at random (clients leaving the same
    server spread over the others). A server is tried again RETRY_WAIT_S after its last try."""

    def __init__(self) -> None:
        self.left: str | None = None  # the netloc of the server the client was connected to
        self._tried: dict[str, float] = {}

    def __call__(self, servers: list[Server], _info: dict[str, Any]) -> tuple[Server, float]:
        def order(server: Server) -> tuple[float, bool, float]:
            netloc = server.uri.netloc
            return self._tried.get(netloc, float("-inf")), netloc == self.left, random.random()

        choice = min(servers, key=order)
        now = time.monotonic()
        wait = max(0.0, self._tried.get(choice.uri.netloc, float("-inf")) + RETRY_WAIT_S - now)
        self._tried[choice.uri.netloc] = now + wait
        return choice, wait


class Mover:
    """Moves a connected client to another server once `after` requests in a row went
    unanswered through the one it is on, at most once per `spacing_s` (while every server
    is stalled, a cluster electing a leader, hopping faster gains nothing); any answered
    request resets the count."""

    def __init__(self, nc: Client, spacing_s: float, after: int = 2) -> None:
        self._nc, self.spacing_s, self.after = nc, spacing_s, after
        self._unanswered = 0
        self._moved_at = float("-inf")
        self.moves = 0
        self._moving: asyncio.Future[None] | None = None  # kept: a task nobody holds may vanish

    def answered(self) -> None:
        self._unanswered = 0

    def unanswered(self, now: float) -> None:
        """A request went unanswered (timeout, no responders) at `now` (monotonic)."""
        self._unanswered += 1
        if self._unanswered < self.after or now - self._moved_at < self.spacing_s:
            return
        if not self._nc.is_connected:  # reconnecting already
            return
        self._unanswered = 0
        self._moved_at = now
        self.moves += 1
        url = self._nc.connected_url
        log.warning(
            "requests go unanswered through this NATS server: moving to another",
            server=url.netloc if url else None,
        )  # fmt: skip
        self._moving = asyncio.ensure_future(self._nc.force_reconnect())
