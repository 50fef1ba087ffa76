"""The `process` watchdog: a separate process that kills the host's VMs when not petted.

Commands arrive one per line on stdin: `pet [SECONDS]`, `watch PID`, `unwatch PID`, `fire`,
`disarm`. `pet` alone pushes the deadline `--timeout` seconds ahead; `pet S` pushes it S seconds
ahead (the collector's core says how long its current proofs of life stay valid).
When no `pet` arrives for `--timeout` seconds (or on `fire`), every watched process is
SIGKILLed and the watchdog exits. A closed stdin (the collector died) is not a pet: the deadline
still runs out. Each watched pid is remembered with its start time, so a pid the kernel reused
for an unrelated process is never killed.
"""

from __future__ import annotations

import argparse
import os
import select
import signal
import sys
import time


def _start_time(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            stat = f.read()
    except OSError:
        return None
    # Field 22 (starttime); the command name (field 2) may contain spaces, so split after ')'.
    return stat.rsplit(")", 1)[1].split()[19]


def _kill(watched: dict[int, str | None], name: str, why: str) -> None:
    killed = []
    for pid, started in watched.items():
        if started is not None and _start_time(pid) == started:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except ProcessLookupError:
                pass
    sys.stderr.write(f"{name}: {why}: killed {len(killed)} VM process(es) {killed}\n")
    sys.stderr.flush()


def _seconds(arg: str) -> float:
    try:
        return max(0.0, float(arg))
    except ValueError:
        return 0.0  # an unreadable pet is no pet: fail safe


def run(timeout_s: float, name: str) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watched: dict[int, str | None] = {}
    deadline = time.monotonic() + timeout_s
    stdin = sys.stdin.buffer
    fd = stdin.fileno()
    buf = b""
    eof = False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            _kill(watched, name, f"not petted for {timeout_s:g}s")
            return 0
        if eof:
            time.sleep(min(left, 0.05))
            continue
        ready, _, _ = select.select([fd], [], [], min(left, 0.5))
        if not ready:
            continue
        chunk = os.read(fd, 4096)
        if not chunk:
            eof = True
            continue
        buf += chunk
        while b"\n" in buf:
            raw, buf = buf.split(b"\n", 1)
            cmd, _, arg = raw.decode(errors="replace").strip().partition(" ")
            if cmd == "pet":
                deadline = time.monotonic() + (_seconds(arg) if arg else timeout_s)
            elif cmd == "watch" and arg.isdigit():
                watched[int(arg)] = _start_time(int(arg))
            elif cmd == "unwatch" and arg.isdigit():
                watched.pop(int(arg), None)
            elif cmd == "fire":
                _kill(watched, name, "fence ordered")
                return 0
            elif cmd == "disarm":
                return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timeout", type=float, required=True)
    parser.add_argument("--name", default="watchdog")
    args = parser.parse_args(argv)
    return run(args.timeout, args.name)


if __name__ == "__main__":
    sys.exit(main())
