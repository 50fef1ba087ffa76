"""structlog set up once per process: JSON lines on stderr for machines, a readable console
renderer on a TTY; per-message context (subject, sequence, host) through contextvars."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

import structlog

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}


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
        structlog.dev.ConsoleRenderer(colors=True)
        if is_tty
        else structlog.processors.JSONRenderer(sort_keys=False)
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
        logger_factory=structlog.PrintLoggerFactory(file=out),
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
