"""`haplan pool compute-max-failures` against a real planner replica (PlannerService on the
test's loop, following the log of the lab pool): the live answer is the one `haplan plan`
gives offline for the same pool."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from schemas import dump_pool
from services.common.settings import BusSettings
from services.planner.service.service import PlannerService
from tests.fixtures.nats import connect_to
from tests.integration.arbiter.conftest import Pool, bounded
from tests.integration.arbiter.players import eventually, lab_pool_created
from tests.integration.cli.runner import haplan

ANSWER_KEYS = (
    "pool", "max_host_failures_to_tolerate", "upper_bound", "exact",
    "host_failures_to_tolerate", "overcommitted", "worst_failure_set", "hosts",
)  # fmt: skip


@contextlib.asynccontextmanager
async def planner_replica(url: str) -> AsyncIterator[PlannerService]:
    """A planner replica once it answers about the live pool (it has folded the log)."""
    nc = await connect_to(url)
    service = PlannerService(nc, BusSettings(nats_url=url), "cli-p1")
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))

    async def answers_about_the_pool() -> bool:
        try:
            msg = await nc.request("planner.plan", b"{}", timeout=10)
        except Exception:
            return False
        return not (msg.headers or {}).get("Nats-Service-Error-Code")

    try:
        await eventually(answers_about_the_pool, 30, "the planner answers about the live pool")
        yield service
    finally:
        stop.set()
        await bounded(task, "stopping the planner")
        await nc.close()


async def test_the_live_answer_is_the_offline_plan_of_the_same_pool(
    pool: Pool, tmp_path: Path
) -> None:
    """compute-max-failures --json gives the same max failures, bound, exactness, worst
    failure set and host rows as `haplan plan --json` on the pool the log holds; without
    --json it prints the plan tables, marked live."""
    pool_file = tmp_path / "lab.json"
    pool_file.write_text(dump_pool(lab_pool_created().pool, "json"))
    async with planner_replica(pool.url):
        live, table = await asyncio.gather(
            haplan("pool", "compute-max-failures", "--json", url=pool.url),
            haplan("pool", "compute-max-failures", url=pool.url),
        )
    offline = await haplan("plan", str(pool_file), "--json", url=pool.url)
    assert live.code == 0 and table.code == 0 and offline.code == 0, live.err + table.err
    assert {k: live.json()[k] for k in ANSWER_KEYS} == {k: offline.json()[k] for k in ANSWER_KEYS}
    assert live.json()["max_host_failures_to_tolerate"] == 1
    assert "(live, from the planner)" in table.out and "max host failures to tolerate" in table.out
