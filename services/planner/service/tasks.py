"""Ending the service's own tasks for sure.

nats-py swallows a cancellation that lands inside some of its calls (`Client.flush` catches
CancelledError), so one `cancel()` may leave a reader running; a task is cancelled again until
it has ended.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

AGAIN_S = 0.05


async def finish(task: asyncio.Task[Any]) -> None:
    """Cancel `task` until it has ended, and reap it."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=AGAIN_S)
    with contextlib.suppress(asyncio.CancelledError, Exception):
        task.result()
