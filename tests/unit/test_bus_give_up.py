"""A command that gives up on NATS ends its connect attempt even when a cancellation is lost
(services.common.bus._give_up): the hang of `haplan` against a closed port, made
deterministic."""

from __future__ import annotations

import asyncio
import contextlib

from nats.aio.client import Client

from services.common.bus import _give_up


async def test_a_connect_attempt_that_loses_a_cancellation_still_ends() -> None:
    """The attempt retries the way nats-py's connect does (each TCP connect in a wait_for,
    an OSError means "try again") and the give-up's cancel arrives in the loop iteration in
    which the TCP connect failed: on Python 3.11 wait_for then returns the OSError instead of
    the CancelledError, and the attempt carries on. _give_up still ends it, and returns."""
    failed_connect: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    tries = 0

    async def connect_forever() -> None:
        nonlocal tries
        while True:
            tries += 1
            pending = failed_connect if tries == 1 else asyncio.sleep(0.05)
            with contextlib.suppress(OSError):
                await asyncio.wait_for(pending, 10)

    attempt = asyncio.ensure_future(connect_forever())
    await asyncio.sleep(0)  # the attempt waits on its first TCP connect
    # The connect fails, and the attempt is woken in the same iteration as the cancel lands.
    failed_connect.set_exception(ConnectionRefusedError(111, "Connect call failed"))
    giving_up = asyncio.ensure_future(_give_up(attempt, Client()))
    # Not wait_for: cancelling a hung give-up would cancel the attempt once more and end it.
    done, _ = await asyncio.wait({giving_up}, timeout=30)
    if not done:
        giving_up.cancel()
        await asyncio.wait({giving_up, attempt}, timeout=30)
    assert giving_up in done, "the give-up waited for an attempt that had lost its cancel"
    assert attempt.cancelled()


async def test_an_attempt_that_ignores_cancellation_is_left_behind() -> None:
    """An attempt that swallows every cancellation does not hold the give-up forever: after
    its bound the client is closed and the attempt left behind."""
    stop = asyncio.Event()

    async def stubborn() -> None:
        while not stop.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(0.05)

    attempt = asyncio.ensure_future(stubborn())
    nc = Client()
    try:
        giving_up = asyncio.ensure_future(_give_up(attempt, nc))
        done, _ = await asyncio.wait({giving_up}, timeout=60)
        assert giving_up in done, "the give-up waited for an attempt that ignores cancels"
        assert not attempt.done()
        assert nc.is_closed
    finally:
        stop.set()
        await asyncio.wait_for(attempt, 30)
