"""Every process of one host, found by a tag in its environment, and killed together.

A host's collector starts its watchdog and its VMs in sessions of their own (signals aimed at
the collector must miss them), so neither a process group nor a session holds "the host".
Its environment does: `haplan up` starts each process with `HAPLAN_UP_SCOPE=<run>/<member>`,
and every child inherits it, also one whose parent died. Pulling a host's power is then:
freeze everything with its tag (so that nothing reacts or spawns more), kill it, and look
again until nothing is left. No root, no cgroups: /proc/PID/environ of our own processes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

SCOPE_ENV = "HAPLAN_UP_SCOPE"
_PROC = Path("/proc")


def scope(run: str, member: str) -> str:
    return f"{run}/{member}"


def _scope_of(pid: int) -> str | None:
    try:
        raw = (_PROC / str(pid) / "environ").read_bytes()
    except OSError:
        return None  # gone, a zombie (empty environ), or another user's
    key = SCOPE_ENV.encode() + b"="
    for entry in raw.split(b"\0"):
        if entry.startswith(key):
            return entry[len(key) :].decode(errors="replace")
    return None


def scopes() -> dict[int, str]:
    """Every process of this user that carries a scope, with its scope (not this one)."""
    me = os.getpid()
    found = {}
    for entry in _PROC.iterdir():
        if entry.name.isdigit() and int(entry.name) != me:
            tag = _scope_of(int(entry.name))
            if tag is not None:
                found[int(entry.name)] = tag
    return found


def tagged(prefix: str) -> list[int]:
    """Pids whose scope is `prefix` or lies under it (a run id matches the whole run)."""
    under = prefix.rstrip("/") + "/"
    return [pid for pid, tag in scopes().items() if tag == prefix or tag.startswith(under)]


def _signal_all(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def kill_scope(prefix: str, timeout_s: float = 5.0) -> list[int]:
    """SIGSTOP then SIGKILL every process of `prefix` until none is found; the pids killed.

    Stopping them all first keeps a collector from seeing its VMs die and reacting, and a
    process from starting a child between the look and the kill.
    """
    killed: list[int] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        pids = tagged(prefix)
        if not pids:
            break
        _signal_all(pids, signal.SIGSTOP)
        _signal_all(pids, signal.SIGKILL)
        killed += [p for p in pids if p not in killed]
        time.sleep(0.02)
    return killed


def signal_scope(prefix: str, sig: signal.Signals) -> list[int]:
    pids = tagged(prefix)
    _signal_all(pids, sig)
    return pids
