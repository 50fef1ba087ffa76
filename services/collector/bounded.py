"""Blocking calls the collector cannot trust to return (killing VMs whose disk hangs, an admin
shutdown with its grace period), each run in a daemon thread of its own with a deadline.

A daemon thread, not the event loop's executor: a fenced collector must be able to exit while
such a call is still stuck, and the executor's threads are joined at exit.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

T = TypeVar("T")


def _in_daemon_thread(fn: Callable[[], T], name: str) -> Future[T]:
    fut: Future[T] = Future()

    def work() -> None:
        if not fut.set_running_or_notify_cancel():
            return
        try:
            fut.set_result(fn())
        except BaseException as exc:
            fut.set_exception(exc)

    threading.Thread(target=work, name=name, daemon=True).start()
    return fut


async def call_with_deadline(fn: Callable[[], T], deadline_s: float, name: str) -> T:
    """`fn()` in a daemon thread; TimeoutError if it has not returned within `deadline_s`
    (it keeps running in its thread)."""
    return await asyncio.wait_for(asyncio.wrap_future(_in_daemon_thread(fn, name)), deadline_s)


def wait_with_deadline(fn: Callable[[], T], deadline_s: float, name: str) -> T:
    """`call_with_deadline` for the start-up, before the event loop's work begins: blocks the
    caller at most `deadline_s`; TimeoutError after it."""
    return _in_daemon_thread(fn, name).result(timeout=deadline_s)
