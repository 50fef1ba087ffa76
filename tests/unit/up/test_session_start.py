"""`haplan up`'s start (services.up.session) when the run's NATS users cannot be written: one
line (UpFailed), not a traceback, and the logs kept for the operator."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from rich.console import Console

from schemas import Pool
from services.up import session
from services.up.session import Session, UpFailed, UpOptions

POOL = Pool.model_validate(
    {"name": "p", "hosts": [{"name": "lab1", "memory_mib": 1024}], "vms": []}
)


async def test_credentials_that_cannot_be_written_are_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full runtime directory (ENOSPC) while the credentials are written ends `up` with
    UpFailed naming the cause, before any process starts."""

    def full(directory: Path, hosts: list[str]) -> object:
        raise OSError(errno.ENOSPC, "No space left on device", str(directory))

    monkeypatch.setattr(session, "generate", full)
    options = UpOptions(POOL, "pool.yaml", tmp_path / "run", "lines")
    up = Session(options, Console(file=None, quiet=True))
    with pytest.raises(UpFailed) as failed:
        await up.run()
    assert str(failed.value) == "cannot write the pool's NATS users: No space left on device"
    assert up.server is None and not up.members
    assert (tmp_path / "run" / "logs" / "up.log").exists()
