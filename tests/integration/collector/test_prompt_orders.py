"""A start order does not wait for the rest of the collector's interval."""

from __future__ import annotations

from schemas.pool import HAConfig
from tests.integration.collector.conftest import POOL, Lab, create_pool

SLOW = POOL.model_copy(update={"ha": HAConfig(timeout_s=30.0, host_failures_to_tolerate=1)})
INTERVAL_S = 3.0  # services.common.timers for T = 30 s


async def test_a_start_order_is_carried_out_at_once_not_at_the_next_interval(
    empty_lab: Lab,
) -> None:
    """With T = 30 s the collector works every 3 s. An order sent right after one interval's
    report is carried out, after a fresh proof of life, and the VM is reported running well
    within the 3 s the next regular interval would have taken."""
    await create_pool(empty_lab.nc, SLOW)
    await empty_lab.arbiter.start()
    empty_lab.peer.start()
    collector = await empty_lab.spawn()
    incarnation = (await collector.member(timeout=30)).incarnation
    seq = collector.reports[-1].seq
    await collector.report(lambda r: r.seq > seq, 2 * INTERVAL_S, "a new interval's report")
    order = await empty_lab.arbiter.start_vm("lab1", incarnation, "Minion 1")
    running = await collector.report(
        lambda r: any(v.instance == order for v in r.vms), INTERVAL_S * 2 / 3,
        "Minion 1 running before the next regular interval",
    )  # fmt: skip
    assert running.phase == "member"
