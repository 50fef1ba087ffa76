"""A collector credential gone wild, as its own process: `python -m
tests.integration.arbiter.flooder URL HOST SECONDS MAX_MESSAGES` publishes heartbeats of HOST,
valid but padded with VM names to 17 KB and to 900 KB in turn, on HOST's own `ha.hb.<host>`
as fast as the client takes them, for SECONDS or MAX_MESSAGES, whichever ends first; it prints
how many messages and bytes it sent."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import nats

from schemas.messages import NetworkHeartbeat
from services.common.subjects import encode_token

SIZES = (17_000, 900_000)


def padded(host: str, size: int) -> bytes:
    """A well-formed heartbeat of `host` of about `size` bytes (listing made-up VMs)."""
    vms = tuple(f"vm-{i:012d}" for i in range(size // 18))
    hb = NetworkHeartbeat(host=host, incarnation="flood", seq=1, lease_ok=True, store_ok=True,
                          vms=vms)  # fmt: skip
    return hb.model_dump_json().encode()


async def flood(url: str, host: str, seconds: float, most: int) -> tuple[int, int]:
    payloads = [padded(host, size) for size in SIZES]
    subject = f"ha.hb.{encode_token(host)}"
    nc = await nats.connect(url, max_reconnect_attempts=1)
    sent = sent_bytes = 0
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end and sent < most:
            data = payloads[sent % len(payloads)]
            await nc.publish(subject, data)
            sent, sent_bytes = sent + 1, sent_bytes + len(data)
            if sent % 16 == 0:
                await nc.flush(timeout=10)  # full speed, as far as the server takes it
    finally:
        await nc.close()
    return sent, sent_bytes


async def flood_from_a_process(url: str, host: str, seconds: float, most: int) -> None:
    """Run the flood as its own process (a credential gone wild is not the test's client), up
    to `seconds` + 60 s; assert it ran and sent more than 100 messages and 10 MiB."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", __name__, url, host, str(seconds), str(most),
        cwd=Path(__file__).parents[3], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(), seconds + 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()[-2000:]
    sent, sent_bytes = map(int, out.split())
    assert sent > 100 and sent_bytes > 10 * 1024 * 1024, (sent, sent_bytes)


def main() -> None:
    url, host, seconds, most = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    sent, sent_bytes = asyncio.run(flood(url, host, seconds, most))
    print(f"{sent} {sent_bytes}")


if __name__ == "__main__":
    main()
