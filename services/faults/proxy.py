"""A TCP proxy that stands for a host's network cable between its collector and NATS.

Cut: every open connection is closed and new ones are refused, so the collector loses the bus
(and with it its lease renewals) exactly as with a pulled cable; heal: the same port accepts
again and the client's own reconnect logic brings it back.
"""

from __future__ import annotations

import asyncio
import contextlib


class CuttableProxy:
    def __init__(self, upstream_host: str, upstream_port: int, listen_host: str = "127.0.0.1"):
        self._upstream = (upstream_host, upstream_port)
        self._listen_host = listen_host
        self.port = 0
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def cut(self) -> bool:
        return self._server is None

    async def start(self, port: int = 0) -> int:
        self._server = await asyncio.start_server(self._serve, self._listen_host, port or self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def pull(self) -> None:
        """Pull the cable: drop every connection and refuse new ones."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._links):
            writer.transport.abort()
        self._links.clear()

    async def plug(self) -> None:
        """Plug the cable back in, on the same port."""
        if self._server is None:
            await self.start(self.port)

    async def close(self) -> None:
        await self.pull()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Tracked before the upstream connect, so a pull during the connect drops this link too.
        self._links.add(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            self._links.discard(writer)
            writer.transport.abort()
            return
        if writer.transport.is_closing():
            up_writer.transport.abort()
            return
        self._links.add(up_writer)
        pumps = [
            asyncio.create_task(self._pump(reader, up_writer)),
            asyncio.create_task(self._pump(up_reader, writer)),
        ]
        self._tasks.update(pumps)
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in pumps:
                task.cancel()
                self._tasks.discard(task)
            for w in (writer, up_writer):
                self._links.discard(w)
                w.transport.abort()

    @staticmethod
    async def _pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while chunk := await src.read(65536):
                dst.write(chunk)
                await dst.drain()
