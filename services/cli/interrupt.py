"""Ctrl-C that stops an offline planning command at once: one line, exit 130.

A long `haplan plan` spends its time inside CP-SAT (C++) and in long Python loops. Python runs
a signal handler only when the main thread gets back to Python bytecode, and CP-SAT by default
takes SIGINT for itself (it ends the current solve "as if a time limit was reached", and the
search goes on with the next one): Ctrl-C was ignored. So the planner turns CP-SAT's catching
off (services/planner/solver.py) and these commands watch for the signal on a thread of their
own: Python's C-level handler writes the signal number to a wakeup pipe the moment it arrives,
whatever the main thread is doing (the solver releases the GIL), and the watcher prints the one
line and ends the process. Nothing is lost: an offline plan writes nothing but its answer.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

INTERRUPTED_EXIT = 130  # 128 + SIGINT, what a shell reports for a job ended by Ctrl-C
SHOW_CURSOR = "\x1b[?25h"  # a progress bar hides it; os._exit skips rich's restoring it


def _ignore(signum: int, frame: FrameType | None) -> None:
    """The main thread's handler: nothing, the watcher alone ends the process (one line)."""


@contextmanager
def stop_on_ctrl_c() -> Iterator[None]:
    """Within the block, SIGINT prints `haplan: interrupted` and exits 130 within moments.

    A SIGINT the process was started ignoring (a job started with `&` by a non-interactive
    shell) stays ignored, as POSIX intends. Main thread only (signal.set_wakeup_fd).
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        yield
        return
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    previous_handler = signal.signal(signal.SIGINT, _ignore)
    previous_fd = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    threading.Thread(target=_watch, args=(read_end,), name="ctrl-c", daemon=True).start()
    try:
        yield
    finally:
        signal.set_wakeup_fd(previous_fd)
        signal.signal(signal.SIGINT, previous_handler)
        os.close(write_end)  # the watcher reads end-of-file and returns


def _watch(read_end: int) -> None:
    try:
        while data := os.read(read_end, 64):
            if signal.SIGINT in data:
                if sys.stdout.isatty():
                    os.write(sys.stdout.fileno(), SHOW_CURSOR.encode())
                os.write(sys.stderr.fileno(), b"haplan: interrupted\n")
                os._exit(INTERRUPTED_EXIT)
    finally:
        os.close(read_end)


def interruptible(command: Callable[P, R]) -> Callable[P, R]:
    """A command whose whole run stops on Ctrl-C (stop_on_ctrl_c); its signature is kept
    for Typer."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with stop_on_ctrl_c():
            return command(*args, **kwargs)

    return run
