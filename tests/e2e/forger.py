"""`python -m tests.e2e.forger HA_DIR KEY ROUNDS EVERY_S`: lab2 turned hostile, run in the lab's
control namespace with lab2's collector credential (HAPLAN_NATS_USER/PASSWORD): floods its
own `ha.sto.lab2` with forged readings about lab1 (tests/fixtures/forgery.py). Exit 0 once
all are sent; 3 if the server refused a publish (its permissions)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from services.common.bus import connect
from services.common.settings import BusSettings
from services.common.signing import HostSigner
from tests.fixtures.forgery import flood


async def main(ha_dir: Path, key: Path, rounds: int, every_s: float) -> int:
    nc = await connect(BusSettings(), name="hostile-lab2", initial_timeout_s=10.0)
    refused: list[Exception] = []

    async def on_error(exc: Exception) -> None:
        refused.append(exc)

    nc._error_cb = on_error  # a permissions violation arrives as an async error
    try:
        await flood(nc, ha_dir, HostSigner.load(key), rounds, every_s)
    finally:
        await nc.close()
    if refused:
        print(f"refused: {refused[0]}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    ha_dir, key, rounds, every_s = sys.argv[1:5]
    sys.exit(asyncio.run(main(Path(ha_dir), Path(key), int(rounds), float(every_s))))
