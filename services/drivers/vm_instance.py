"""One VM instance of the `process` driver: a real OS process that writes its disk.

It appends `<unix-time-ns> <host> <instance-id>` to `DISKS/<vm>.log` every 50 ms (the contract is
at least every 100 ms), opening the file for each write so that losing the storage is noticed at
the next write, as a VM loses its disk when the iSCSI cable is pulled. One `os.write` per line on
an O_APPEND descriptor keeps concurrent writers' lines whole, so two writers (a split brain) show
up as interleaved instance ids in one file.

Exit status: 0 after SIGTERM (admin shutdown), 4 after SIGUSR1 (the guest halted itself), 3 when
the disk cannot be written.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from types import FrameType

from services.drivers.base import (
    EXIT_GUEST_HALT,
    EXIT_STOPPED,
    EXIT_STORAGE_LOST,
    HANDLED_SIGNALS,
)

WRITE_INTERVAL_S = 0.05

_stop: int | None = None


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    global _stop
    _stop = EXIT_GUEST_HALT if signum == signal.SIGUSR1 else EXIT_STOPPED


def run(disk: str, host: str, instance: str, interval: float = WRITE_INTERVAL_S) -> int:
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGUSR1, _on_signal)
    # The driver starts us with these blocked so that a stop sent during start-up waits for
    # the handlers instead of killing us as an unexplained crash.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED_SIGNALS)
    while _stop is None:
        line = f"{time.time_ns()} {host} {instance}\n".encode()
        try:
            fd = os.open(disk, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
        except OSError as exc:
            sys.stderr.write(f"vm {instance}: cannot write {disk}: {exc.strerror}\n")
            return EXIT_STORAGE_LOST
        time.sleep(interval)
    return _stop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--disk", required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--instance", required=True)
    parser.add_argument("--interval", type=float, default=WRITE_INTERVAL_S)
    args = parser.parse_args(argv)
    return run(args.disk, args.host, args.instance, args.interval)


if __name__ == "__main__":
    sys.exit(main())
