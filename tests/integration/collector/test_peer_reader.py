"""The reader of peers' heartbeats (services.collector.peers) survives an unexpected exception
in reading one heartbeat: it logs it and goes on reading, on a real nats-server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest
from nats.aio.client import Client

from services.collector import wire
from services.collector.peers import PeerHeartbeats
from services.common.logging import configure_logging


async def _until(check: Callable[[], bool], deadline_s: float = 30.0) -> None:
    async def wait() -> None:
        while not check():
            await asyncio.sleep(0.05)

    await asyncio.wait_for(wait(), deadline_s)


async def test_a_bug_in_reading_one_heartbeat_does_not_stop_the_reader(
    nats_client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first heartbeat's reading raises a RuntimeError (a bug, not a Malformed): the
    error is logged in one line, counted, and the next heartbeat is still read."""
    configure_logging(tty=False)
    read: list[bytes] = []

    def take(subject: str, data: bytes) -> None:
        if not read:
            read.append(data)
            raise RuntimeError("a bug in the decoder")
        read.append(data)

    peers = PeerHeartbeats(nats_client, frozenset({"lab2"}), take, lambda m, r: None,
                           mute_for_s=30.0)  # fmt: skip
    await peers.start()
    try:
        subject = wire.heartbeat_subject("lab2")
        await nats_client.publish(subject, b"first")
        await nats_client.flush()
        await _until(lambda: peers.failed == 1)
        await nats_client.publish(subject, b"second")
        await nats_client.flush()
        await _until(lambda: len(read) == 2)
        assert read == [b"first", b"second"] and peers.failed == 1
    finally:
        await peers.stop()
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    failures = [line for line in lines if "reading a peer's heartbeat failed" in line["event"]]
    assert len(failures) == 1 and "a bug in the decoder" in failures[0]["error"]
    assert failures[0]["subject"] == subject
