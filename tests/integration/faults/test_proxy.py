"""The cuttable proxy: traffic flows while plugged, stops when pulled, resumes on the same port."""

from __future__ import annotations

import asyncio

import pytest

from services.faults import CuttableProxy


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(1024):
        writer.write(data)
        await writer.drain()
    writer.close()


async def _roundtrip(port: int, payload: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    await writer.drain()
    data = await asyncio.wait_for(reader.readexactly(len(payload)), 5)
    writer.close()
    return data


async def test_pull_drops_connections_and_plug_restores_service() -> None:
    """Pulling closes open links and refuses new ones; plugging serves again on the same port."""
    upstream = await asyncio.start_server(_echo, "127.0.0.1", 0)
    proxy = CuttableProxy("127.0.0.1", upstream.sockets[0].getsockname()[1])
    try:
        port = await proxy.start()
        assert await _roundtrip(port, b"ping") == b"ping"

        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await proxy.pull()
        assert proxy.cut
        assert await asyncio.wait_for(reader.read(), 30) == b""  # the open link was dropped
        writer.close()
        with pytest.raises(OSError):
            await _roundtrip(port, b"x")

        await proxy.plug()
        assert proxy.port == port and not proxy.cut
        assert await _roundtrip(port, b"back") == b"back"
    finally:
        await proxy.close()
        upstream.close()
        await upstream.wait_closed()
