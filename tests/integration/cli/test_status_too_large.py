"""`haplan status` when the leader's answer would be over the server's max_payload (a pool of
10,000 VMs; here the lab pool on a server with a tiny limit): the leader sends a short
refusal instead of an answer the server would refuse, and the CLI says, in one line, the size
and the limit, exit 2 (docs/protocol.md, Large events and answers)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from schemas import VM
from schemas.events import VMCreated
from services.common.natsserver import NatsServer
from tests.fixtures.events import make
from tests.integration.arbiter.conftest import Pool
from tests.integration.cli.players import leading_arbiter
from tests.integration.cli.runner import haplan

LIMIT = 2000
"""Over every message the lab pool's services send but the leader's status answer once the
pool has HALTED more VMs (about 90 bytes each in the answer)."""
HALTED = 40


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """This module's server: max_payload LIMIT bytes (the `pool` fixture runs on it)."""
    conf = tmp_path / "limits.conf"
    conf.write_text(f"max_payload: {LIMIT}\n")
    server = NatsServer(store_dir=tmp_path / "nats", config=conf)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_a_status_answer_over_the_limit_is_one_line_with_size_and_limit(
    pool: Pool,
) -> None:
    """The leader answers ha.op.status with ok false and code 413 naming the answer's size
    and the limit, and keeps leading; `haplan status` prints that line and exits 2, nothing
    on stdout."""
    added = [
        make(VMCreated, epoch=0, spec=VM(name=f"halted VM number {i:03d}", memory_mib=512))
        for i in range(HALTED)
    ]
    await pool.store.append(added, await pool.store.last_seq())
    async with leading_arbiter(pool.url, "big-a1") as arbiter:
        result = await haplan("status", "--json", url=pool.url)
        assert arbiter.leading
    assert result.code == 2, result.err
    line = result.error_line()
    assert "bytes on the answer of ha.op.status" in line, line
    assert f"limit of {LIMIT:,} bytes" in line, line
    assert result.out == ""
