"""Running `haplan` as the operator does, from an async test: a subprocess awaited on the
test's event loop, so that the services and players on that loop keep running meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Run:
    args: tuple[str, ...]
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def error_line(self) -> str:
        """The one stderr line of a failed command (asserted to be one, with no traceback)."""
        lines = self.err.strip().splitlines()
        assert len(lines) == 1, f"haplan {' '.join(self.args)}: {self.err}"
        assert lines[0].startswith("haplan: error: "), lines[0]
        return lines[0]


async def haplan(*args: str, url: str, timeout: float = 60, connect_s: float = 5) -> Run:
    env = {**os.environ, "NATS_URL": url, "HAPLAN_CONNECT_TIMEOUT_S": str(connect_s),
           "COLUMNS": "200"}  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.cli.main", *args,
        cwd=REPO, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        raise AssertionError(
            f"haplan {' '.join(args)} did not finish within {timeout:g} s"
        ) from None
    assert proc.returncode is not None
    return Run(args, proc.returncode, out.decode(), err.decode())
