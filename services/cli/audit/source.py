"""Where an audit reads the log: the event stream on NATS, or an export file (`--file`,
offline, no NATS at all). Either way entries reach a consumer one at a time, with a progress
bar on a TTY for long logs, and what cannot be read is counted and skipped, never fatal."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from services.audit import Entry, UnreadableLine, decode_line
from services.cli.events import PROGRESS_FROM, bus_settings, event_store
from services.cli.output import UserError, console, err_console
from services.common.eventstore import JetStreamEventStore
from services.common.logging import configure_logging, get_logger, log_context

Consume = Callable[[Entry], None]
Advance = Callable[[int], None]

log = get_logger("haplan.audit")

# A file line is about 300 bytes: draw a bar from about as many events as a bus replay does.
PROGRESS_FROM_BYTES = PROGRESS_FROM * 300
# Unreadable lines before the first event are logged only once the file shows it holds a log
# (else the one error line says it holds none); at most this many are kept for that.
HELD_WARNINGS = 1000


class LogSource(Protocol):
    @property
    def malformed(self) -> int: ...

    async def replay(self, consume: Consume, *, label: str, show_progress: bool) -> None: ...


@contextlib.contextmanager
def _bar(label: str, total: int, show: bool) -> Iterator[Advance | None]:
    """A transient bar on a TTY (never with --json or into a pipe); yields the callback that
    moves it to a position out of `total`, or None when nothing is drawn."""
    if not (show and console.is_terminal):
        yield None
        return
    columns = (SpinnerColumn(), TextColumn(escape(label)), BarColumn(), TaskProgressColumn(),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda position: bar.update(task, completed=position)


class FileSource:
    """An export: one event per line with its sequence (`haplan audit export`, or the
    output of `haplan events --json`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._malformed = 0
        self._held: list[tuple[int, str]] = []
        try:
            self._size = path.stat().st_size
        except OSError as exc:
            raise self._unreadable(exc) from None
        if path.is_dir():
            raise UserError(f"{path} is a directory, not a log file")

    @property
    def malformed(self) -> int:
        return self._malformed

    async def replay(self, consume: Consume, *, label: str, show_progress: bool) -> None:
        """Feed `consume` every readable entry; a file without one is a UserError (exit 2):
        a file that holds no log (a pool file, a typo'd path to some other file, an empty
        export) must not pass an audit as a log with nothing wrong in it."""
        self._malformed = 0  # a second pass counts again, not twice
        self._held = []  # warnings wait until the file shows it holds a log
        show = show_progress and self._size >= PROGRESS_FROM_BYTES
        found = False
        with _bar(label, self._size, show) as advance:
            position = 0
            last = 0
            for number, line in enumerate(self._lines(), start=1):
                position += len(line)
                if not line.strip():
                    continue
                entry = self._decode(number, line, last, held=not found)
                if entry is not None:
                    if not found:
                        found = True
                        self._release_held()
                    last = entry.seq
                    consume(entry)
                if advance is not None and number % 5000 == 0:
                    advance(position)
        if not found:
            what = f"none of its {self._malformed:,} line(s) is" if self._malformed else "it is"
            raise UserError(
                f"{self.path}: holds no event log ({what} "
                f"{'an event' if self._malformed else 'empty'})",
                "give a file written by `haplan audit export` or `haplan events --json`",
            )

    def _release_held(self) -> None:
        """Log the warnings held back while no entry had been read yet."""
        held, self._held = self._held, []
        for number, reason in held:
            with log_context(file=str(self.path), line=number):
                log.warning("unreadable line skipped", reason=reason)
        beyond = self._malformed - len(held)
        if beyond > 0:
            with log_context(file=str(self.path)):
                log.warning("more unreadable lines skipped before the first event", lines=beyond)

    def _lines(self) -> Iterator[bytes]:
        # Only the file's own errors become one-line errors; the consumer's (a closed pipe on
        # stdout) are not the file's fault.
        try:
            f = self.path.open("rb")
        except OSError as exc:
            raise self._unreadable(exc) from None
        with f:
            while True:
                try:
                    line = f.readline()
                except OSError as exc:
                    raise self._unreadable(exc) from None
                if not line:
                    return
                yield line

    def _unreadable(self, exc: OSError) -> UserError:
        return UserError(
            f"{self.path}: cannot read the log file: {exc.strerror or exc}",
            "give a file written by `haplan audit export`",
        )

    def _decode(self, number: int, line: bytes, last: int, *, held: bool) -> Entry | None:
        try:
            entry = decode_line(line)
            if entry.seq <= last:
                raise UnreadableLine(f"sequence {entry.seq} does not follow sequence {last}")
        except UnreadableLine as exc:
            self._malformed += 1
            if not held:
                with log_context(file=str(self.path), line=number):
                    log.warning("unreadable line skipped", reason=str(exc))
            elif len(self._held) < HELD_WARNINGS:
                self._held.append((number, str(exc)))
            return None
        return entry


class NatsSource:
    """The event stream on the bus (unreachable NATS: exit 69, one line)."""

    def __init__(self, nats: str | None) -> None:
        self.settings = bus_settings(nats)
        self._malformed = 0

    @property
    def malformed(self) -> int:
        return self._malformed

    async def replay(self, consume: Consume, *, label: str, show_progress: bool) -> None:
        async with event_store(self.settings) as store:
            await self._replay(store, consume, label, show_progress)
            self._malformed = store.malformed

    async def _replay(
        self, store: JetStreamEventStore, consume: Consume, label: str, show_progress: bool
    ) -> None:
        total = await store.last_seq()
        with _bar(label, total, show_progress and total >= PROGRESS_FROM) as advance:
            async for recorded in store.read():
                consume(Entry(recorded.seq, recorded.event))
                if advance is not None and recorded.seq % 2000 == 0:
                    advance(recorded.seq)


def open_source(file: Path | None, nats: str | None) -> LogSource:
    if file is not None and nats is not None:
        raise UserError("--file and --nats both given", "audit either an export file or NATS")
    if file is None:
        return NatsSource(nats)
    # Offline: no bus is touched, but unreadable lines are still logged as warnings.
    configure_logging("warning")
    return FileSource(file)


def report_unreadable(source: LogSource) -> None:
    if source.malformed:
        what = "line(s)" if isinstance(source, FileSource) else "message(s)"
        err_console.print(
            f"[yellow]{source.malformed} unreadable {what} skipped "
            "(each logged above with its position)[/yellow]"
        )
