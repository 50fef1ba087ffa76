"""structlog set up once per process: JSON lines on stderr for machines, a readable console
renderer on a TTY; per-message context (subject, sequence, host) through contextvars."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any, TextIO, cast

# What structlog loads at import for renderers a service never uses: rich's traceback and
# pretty-printer (and pygments behind them), about a fifth of what `import structlog` costs a
# start (issue 15). Services log JSON lines; only the console renderer of a terminal session
# shows rich tracebacks, and it gets them back (`_console_renderer`).
_RENDERERS_ONLY = ("rich.traceback", "rich.pretty")


def _import_structlog() -> ModuleType:
    if "structlog" in sys.modules:
        return sys.modules["structlog"]
    blocked = [m for m in _RENDERERS_ONLY if m not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # `import` of it fails at once
    try:
        return importlib.import_module("structlog")
    finally:
        for name in blocked:
            del sys.modules[name]


structlog = _import_structlog()


def _console_renderer() -> Any:
    """structlog's console renderer with its default exception formatter, rich's tracebacks:
    its module is loaded again now that rich's are allowed, as a plain import would have."""
    dev = structlog.dev
    if dev.rich is None and importlib.util.find_spec("rich") is not None:
        dev = importlib.reload(dev)
    return dev.ConsoleRenderer(colors=True)


_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}


class _CurrentStderr:
    """Whatever `sys.stderr` is when a line is written, not when logging was configured: a
    process that swaps stderr (a test capturing it, a daemon redirecting it) must not leave
    the logger writing to a closed stream."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(
    level: str = "info", *, stream: TextIO | None = None, tty: bool | None = None
) -> None:
    """Configure structlog for this process.

    `tty=None` asks the stream: services under a supervisor log JSON lines (spec/cli.md),
    an operator in a terminal gets the console renderer.
    """
    out = sys.stderr if stream is None else stream
    is_tty = out.isatty() if tty is None else tty
    renderer: Any = (
        _console_renderer() if is_tty else structlog.processors.JSONRenderer(sort_keys=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS.get(level, logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(
            file=cast(TextIO, _CurrentStderr()) if stream is None else stream
        ),
        cache_logger_on_first_use=False,
    )


@contextmanager
def log_context(**context: Any) -> Iterator[None]:
    """Bind e.g. subject=, sequence=, host= to every log line emitted inside the block,
    including from code that never sees these values (contextvars follow asyncio tasks)."""
    with structlog.contextvars.bound_contextvars(**context):
        yield


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
