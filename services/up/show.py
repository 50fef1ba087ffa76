"""The running side of `haplan up`'s output: follow the event log, ask the leader for the
pool's status, and draw (services.up.view) or print what happens.

Modes: `live` (a TTY: a rich Live view redrawn a few times a second), `lines` (one line per
event and per note of up's own), `json` (the same as JSON objects, one per line).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from nats.aio.client import Client
from rich.console import Console
from rich.live import Live

from services.common.eventstore import EventStoreError, JetStreamEventStore, Recorded
from services.up.journal import Journal, Note
from services.up.view import EventLine, Picture, note_text, render

if TYPE_CHECKING:
    from services.up.machine import HostMachine

STATUS_SUBJECT = "ha.op.status"
POLL_S = 0.5
FRAME_S = 0.25


class Show:
    def __init__(
        self,
        mode: str,
        console: Console,
        journal: Journal,
        machines: Mapping[str, HostMachine],
        picture: Picture,
    ) -> None:
        self.mode, self.console, self.journal = mode, console, journal
        self.machines, self.picture = machines, picture
        journal.listen(self._on_note)

    async def run(self, nc: Client, store: JetStreamEventStore) -> None:
        tasks = [asyncio.create_task(self._follow(store))]
        if self.mode == "live":
            tasks.append(asyncio.create_task(self._poll(nc)))
        try:
            if self.mode == "live":
                await self._draw()
            else:
                await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t

    # Sources --------------------------------------------------------------------------------

    async def _follow(self, store: JetStreamEventStore) -> None:
        since = 1
        while True:
            try:
                async for recorded in store.follow(since):
                    since = recorded.seq + 1
                    self._on_event(recorded)
            except Exception as exc:  # the server stopping or briefly away; never give up
                if not isinstance(exc, EventStoreError):
                    self.journal.note("up", f"following the event log failed: {exc!r}; retrying")
                await asyncio.sleep(1.0)

    async def _poll(self, nc: Client) -> None:
        while True:
            answer = await ask_status(nc)
            self.picture.answering = answer is not None
            if answer is not None:
                # Kept when the leader goes quiet: the last known pool beats an empty one.
                self.picture.status, self.picture.answered_at = answer, datetime.now(UTC)
            await asyncio.sleep(POLL_S)

    # Sinks ----------------------------------------------------------------------------------

    def _on_event(self, recorded: Recorded) -> None:
        e = recorded.event
        line = EventLine(recorded.seq, e.at, e.type, e.summary())
        self.picture.events.append(line)
        if self.mode == "lines":
            self._write(line.text())
        elif self.mode == "json":
            self._write(
                json.dumps({"kind": "event", "seq": recorded.seq, **e.model_dump(mode="json")})
            )

    def _on_note(self, note: Note) -> None:
        self.picture.notes.append(note)
        if self.mode == "lines":
            self._write(f"{'':>5}  {note_text(note)}")
        elif self.mode == "json":
            self._write(json.dumps(note.as_json(), default=str))

    def _write(self, line: str) -> None:
        with contextlib.suppress(BrokenPipeError, ValueError):
            self.console.file.write(line + "\n")
            self.console.file.flush()

    async def _draw(self) -> None:
        with Live(console=self.console, auto_refresh=False, transient=False) as live:
            while True:
                self.picture.hosts = [m.row() for m in self.machines.values()]
                live.update(render(self.picture), refresh=True)
                await asyncio.sleep(FRAME_S)


async def ask_status(nc: Client, timeout_s: float = 1.0) -> dict[str, Any] | None:
    """The leader's answer to `ha.op.status`; None when no leader answers."""
    try:
        msg = await nc.request(STATUS_SUBJECT, b"{}", timeout=timeout_s)
        answer = json.loads(msg.data)
    except Exception:  # no responders, timeout, a reconnecting client, a garbled reply
        return None
    return answer if isinstance(answer, dict) and answer.get("ok") else None
