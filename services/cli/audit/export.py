"""`haplan audit export`: the event log from NATS into a JSON-lines file.

The file is written beside its final name and renamed into place once complete, so an
interrupted export never leaves a truncated log that an offline audit would take as whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from services.audit import Entry, encode_line
from services.cli.audit.source import NatsSource, report_unreadable
from services.cli.output import UserError


@contextlib.contextmanager
def _target(file: Path) -> Iterator[IO[bytes]]:
    if str(file) == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    partial = file.with_name(f".{file.name}.partial")
    try:
        with partial.open("wb") as out:
            yield out
        os.replace(partial, file)
    except OSError as exc:
        raise UserError(f"{file}: cannot write the export: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(OSError):
            partial.unlink()


def export_log(file: Path, nats: str | None, *, show_progress: bool) -> dict[str, Any]:
    source = NatsSource(nats)
    count = 0
    last = 0

    with _target(file) as out:

        def write(entry: Entry) -> None:
            nonlocal count, last
            out.write(encode_line(entry.seq, entry.event) + b"\n")
            count += 1
            last = entry.seq

        asyncio.run(
            source.replay(write, label="exporting the event log", show_progress=show_progress)
        )
    report_unreadable(source)
    return {"file": str(file), "events": count, "last_seq": last, "malformed": source.malformed}
