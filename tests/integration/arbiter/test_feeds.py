"""The arbiter's bus feeds on a real nats-server: when the pool's names change the size
bounds, every subscription is made again, and no message sent meanwhile is lost."""

from __future__ import annotations

from typing import Any

from nats.aio.subscription import Subscription

from schemas.pool import VM
from schemas.reports import HostReport
from services.arbiter.core import Arbiter
from services.arbiter.decisions import Configured, PoolConfig
from services.arbiter.feeds import BusFeeds
from services.arbiter.metrics import ArbiterMetrics
from services.arbiter.view import fold
from services.common.natsserver import NatsServer
from tests.fixtures.events import lab_pool
from tests.fixtures.nats import connect_to
from tests.integration.arbiter.players import TIMERS, eventually


def _report(seq: int) -> bytes:
    report = HostReport(host="lab1", incarnation="boot-1", seq=seq, phase="member",
                        lease_ok=True, store_ok=True)  # fmt: skip
    return report.model_dump_json().encode()


async def test_a_resubscription_for_new_bounds_loses_no_message(nats_server: NatsServer) -> None:
    """lab1 reports while the arbiter makes its subscriptions again (a VM with a long name
    raised the bounds): a report is published and flushed to the server just before each new
    subscription is made, when the old ones must still be listening; every report arrives."""
    arbiter_nc = await connect_to(nats_server.url)
    lab1_nc = await connect_to(nats_server.url)
    try:
        core = Arbiter("arb", lab_pool(), TIMERS)
        feeds = BusFeeds(arbiter_nc, core, ArbiterMetrics(), lambda: 0.0)
        heard: list[int] = []

        def record(message: object, now: float) -> None:
            if isinstance(message, HostReport):
                heard.append(message.seq)

        feeds.feed = record  # type: ignore[method-assign]
        await feeds.subscribe()
        await arbiter_nc.flush()  # the server has the subscriptions
        await lab1_nc.publish("ha.report.lab1", _report(0))
        await eventually(lambda: _async(heard == [0]), 20, "the first report is heard")

        sent = [0]
        listen = feeds._listen

        async def publish_then_listen(pattern: str, host: str) -> Subscription:
            # The moment a gap would open: between the old subscriptions and the new ones.
            sent.append(len(sent))
            await lab1_nc.publish("ha.report.lab1", _report(sent[-1]))
            await lab1_nc.flush()
            return await listen(pattern, host)

        feeds._listen = publish_then_listen  # type: ignore[method-assign]
        pool = lab_pool()
        longer = VM(name="a VM whose name raises the bounds " + "x" * 200, memory_mib=512)
        config = PoolConfig(pool.hosts, frozenset(), (*pool.vms, longer), True)
        core.view = fold(core.view, Configured(config))
        await feeds.follow_pool()
        assert len(sent) > 1, "the subscriptions were not made again"
        await eventually(
            lambda: _async(set(sent) <= set(heard)), 20, f"every report of {sent} is heard"
        )
        await feeds.unsubscribe()
    finally:
        await lab1_nc.close()
        await arbiter_nc.close()


async def _async(value: Any) -> Any:
    return value


