"""How every command talks to the operator: tables on a TTY, JSON for scripts, one-line errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

from rich.console import Console

console = Console()
err_console = Console(stderr=True)


class UserError(Exception):
    """Bad input from the operator: shown as one line on stderr, exit status 2, no traceback.

    `hint` says what to do next.
    """

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def fail(message: str, hint: str | None = None) -> NoReturn:
    raise UserError(message, hint)


def report_error(exc: UserError) -> None:
    line = f"haplan: error: {exc}"
    if exc.hint:
        line += f" ({exc.hint})"
    # One physical line, whatever the message carried: scripts read stderr line by line.
    sys.stderr.write(" ".join(line.split()) + "\n")


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def emit_text(text: str, path: Path | None, what: str) -> None:
    """`text` on standard output, or written into `path`; a file that cannot be written is
    a one-line error naming `what` it was to hold."""
    if path is None:
        console.file.write(text)
        return
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"{path}: cannot write {what}: {exc.strerror or exc}")
