"""One process `haplan up` keeps running: a host's collector, the arbiter or the planner.

The loop starts it, waits for it to end and asks services.up.policy what then. Its output
goes to its own log file. It runs in a session of its own (a Ctrl-C in up's terminal is for
up, which stops everything in order) and dies with up if up is killed (Linux parent-death
signal). Its environment carries its scope (services.up.procs), which its children inherit.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from services.common.lifetime import die_with_parent
from services.up.journal import Journal
from services.up.policy import Hold, after_exit, describe_exit
from services.up.procs import SCOPE_ENV


async def _first(*aws: asyncio.Future[object] | asyncio.Task[object]) -> None:
    """Wait until one of `aws` is done, then cancel the others."""
    _, pending = await asyncio.wait(aws, return_when=asyncio.FIRST_COMPLETED)
    for p in pending:
        p.cancel()


class Member:
    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        log_file: Path,
        scope: str,
        journal: Journal,
        *,
        is_host: bool = False,
    ) -> None:
        self.name, self.argv, self.log_file, self.scope = name, list(argv), log_file, scope
        self.env = {**env, SCOPE_ENV: scope}
        self.journal, self.is_host = journal, is_host
        self.proc: asyncio.subprocess.Process | None = None
        self.powered = asyncio.Event()
        self.powered.set()
        self.frozen = False  # a hung host: every incarnation is SIGSTOPped at once
        self.starts = 0
        self._stopping = asyncio.Event()

    # The supervision loop -------------------------------------------------------------------

    async def run(self) -> None:
        streak = 0
        while not self._stopping.is_set():
            if not self.powered.is_set():
                await self._until(self.powered.wait())
                continue
            started = time.monotonic()
            try:
                proc = await self._spawn()
            except OSError as exc:
                self.journal.note(self.name, f"cannot start: {exc.strerror or exc}")
                await self._until(asyncio.sleep(5.0))
                continue
            rc = await proc.wait()
            self.proc = None
            decision = after_exit(
                returncode=rc,
                ran_for_s=time.monotonic() - started,
                streak=streak,
                is_host=self.is_host,
                powered=self.powered.is_set(),
                stopping=self._stopping.is_set(),
            )
            self.journal.note(
                self.name,
                f"{describe_exit(rc)}; {decision.reason}",
                returncode=rc,
                **({} if isinstance(decision, Hold) else {"restart_in_s": decision.delay_s}),
            )
            if isinstance(decision, Hold):
                continue
            streak = decision.streak
            await self._until(asyncio.sleep(decision.delay_s))

    async def _until(self, aw: object) -> None:
        """Wait for `aw` unless up stops first."""
        assert asyncio.iscoroutine(aw)
        await _first(asyncio.ensure_future(aw), asyncio.ensure_future(self._stopping.wait()))

    async def _spawn(self) -> asyncio.subprocess.Process:
        self.starts += 1
        with self.log_file.open("ab") as log:
            log.write(f"--- haplan up: start {self.starts} of {self.name} ---\n".encode())
            log.flush()
            proc = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        self.proc = proc
        if self.frozen:
            os.kill(proc.pid, signal.SIGSTOP)
        if not self.powered.is_set():
            os.kill(proc.pid, signal.SIGKILL)  # the power was pulled while it started
        elif self._stopping.is_set():
            self.stop()
        self.journal.note(self.name, f"started (pid {proc.pid})", pid=proc.pid)
        return proc

    # What faults do -------------------------------------------------------------------------

    def freeze(self) -> None:
        self.frozen = True
        self._signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.frozen = False
        self._signal(signal.SIGCONT)

    def _signal(self, sig: signal.Signals) -> None:
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, sig)

    # Stopping -------------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the process to stop (SIGTERM, after a SIGCONT if it was frozen); the loop
        starts nothing more. The caller waits and then kills what is left of the scope."""
        self._stopping.set()
        self._signal(signal.SIGCONT)
        self._signal(signal.SIGTERM)
