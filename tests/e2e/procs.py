"""A process of the lab run inside a node's network namespace, supervised the way `haplan up`
supervises its own: a collector that fenced (exit 75) is a rebooting host and comes back,
anything else that dies unexpectedly is started again with a backoff, and a powered-off
process stays off until powered on (services.up.policy decides, the same pure rules).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from services.common.lifetime import die_with_parent
from services.up.policy import Hold, after_exit
from tests.e2e.netns import Node


class Supervised:
    def __init__(
        self,
        name: str,
        node: Node,
        argv: Sequence[str],
        env: Mapping[str, str],
        log: Path,
        *,
        is_host: bool = False,
    ) -> None:
        self.name, self.node, self.argv, self.env, self.log = name, node, list(argv), env, log
        self.is_host = is_host
        self.proc: subprocess.Popen[bytes] | None = None
        self.exits: list[int] = []  # the exit statuses, in order
        self.starts = 0
        self.frozen = False
        self._powered = threading.Event()
        self._powered.set()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"supervise-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def pid(self) -> int | None:
        proc = self.proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def wait_started(self, starts: int = 1, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.starts < starts or self.pid is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} not started {starts} time(s): {self.exits}")
            time.sleep(0.05)

    # The supervision loop, in its own thread ------------------------------------------------

    def _run(self) -> None:
        streak = 0
        while not self._stopping.is_set():
            if not self._powered.is_set():
                self._powered.wait(0.1)
                continue
            started = time.monotonic()
            with self._lock:
                if self._stopping.is_set() or not self._powered.is_set():
                    continue
                self.proc = self._spawn()
            rc = self.proc.wait()
            self.exits.append(rc)
            decision = after_exit(
                returncode=rc,
                ran_for_s=time.monotonic() - started,
                streak=streak,
                is_host=self.is_host,
                powered=self._powered.is_set(),
                stopping=self._stopping.is_set(),
            )
            if isinstance(decision, Hold):
                continue
            streak = decision.streak
            self._stopping.wait(decision.delay_s)

    def _spawn(self) -> subprocess.Popen[bytes]:
        # Spawned from the supervisor thread: the child dies when that thread ends.
        self.starts += 1
        with self.log.open("ab") as out:
            out.write(f"--- start {self.starts} of {self.name} ---\n".encode())
            out.flush()
            proc = subprocess.Popen(
                [*self.node.enter(), *self.argv],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env=dict(self.env), start_new_session=True, preexec_fn=die_with_parent,
            )  # fmt: skip
        if self.frozen:
            os.kill(proc.pid, signal.SIGSTOP)
        return proc

    # Faults ----------------------------------------------------------------------------------

    def signal(self, sig: signal.Signals) -> None:
        pid = self.pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def freeze(self) -> None:
        self.frozen = True
        self.signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.frozen = False
        self.signal(signal.SIGCONT)

    def power_off(self, pids: Sequence[int] = ()) -> None:
        """Kill the process (and `pids`, the rest of its machine) and keep it off."""
        with self._lock:
            self._powered.clear()
            self.frozen = False
            own = [self.pid] if self.pid is not None else []
            kill_all([*own, *pids])

    def power_on(self) -> None:
        self._powered.set()

    def stop(self) -> None:
        """End supervision: SIGCONT then SIGTERM; the caller kills what is left."""
        with self._lock:
            self._stopping.set()
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)

    def join(self, timeout_s: float) -> None:
        proc = self.proc
        if proc is not None:
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._thread.join(timeout_s)


def kill_all(pids: Sequence[int]) -> None:
    """Stop every pid first (none reacts to another's death or spawns more), then kill."""
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)


def kill_node(node: Node, timeout_s: float = 10.0) -> list[int]:
    """SIGKILL every process in `node`'s namespace until none is left; the pids killed."""
    killed: list[int] = []
    deadline = time.monotonic() + timeout_s
    while (pids := node.pids()) and time.monotonic() < deadline:
        kill_all(pids)
        killed += [p for p in pids if p not in killed]
        time.sleep(0.02)
    return killed
