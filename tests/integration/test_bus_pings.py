"""A hung NATS server (SIGSTOP: it accepts nothing, answers nothing, resets nothing) is noticed
by a service's client through its pings, sized from the pool's T, where nats-py's defaults
(a PING every 2 minutes) would leave it "connected" (issue 14, docs/protocol.md)."""

from __future__ import annotations

import asyncio
import time

from nats.aio.client import Client

from services.common.bus import PONG_SLACK_S, STARTUP_PINGS, PingPolicy, connect, tune_pings
from services.common.natsserver import NatsServer
from services.common.settings import BusSettings
from tests.fixtures.nats import connect_to, frozen


async def lost_after(nc: Client, limit_s: float) -> float | None:
    """Seconds until `nc` stops counting itself connected; None if it still does at
    `limit_s`."""
    start = time.monotonic()
    while time.monotonic() - start < limit_s:
        if not nc.is_connected:
            return time.monotonic() - start
        await asyncio.sleep(0.05)
    return None


async def test_a_frozen_server_is_noticed_with_the_pools_pings_and_not_without(
    nats_server: NatsServer,
) -> None:
    """Frozen server: the client tuned for T notices within its ping bound (3 T/10) and not
    before two unanswered PINGs; a client on nats-py's default pings is still 'connected' at
    that time and long after; once the server continues, the tuned client is back."""
    policy = PingPolicy.for_timeout(3.0)  # a PING every 0.3 s, noticed within 0.9 s
    settings = BusSettings.private(nats_server.url)
    tuned = await connect(settings, name="tuned", pings=policy)
    plain = await connect_to(nats_server.url, max_reconnect_attempts=-1)
    try:
        await tuned.flush(timeout=5)
        await plain.flush(timeout=5)
        with frozen(nats_server):
            # Generous: at least 10 s, whatever the policy (a loaded machine is slow).
            noticed = await lost_after(tuned, max(10.0, 20 * policy.noticed_within_s))
            assert noticed is not None, "the tuned client still thinks the server answers"
            # Not a timer of its own: it took the unanswered PINGs the policy allows.
            assert noticed >= (policy.outstanding - 1) * policy.interval_s
            # Ten times the tuned bound later, the default client has not noticed anything.
            assert await lost_after(plain, 10 * policy.noticed_within_s) is None
            assert plain.is_connected
        deadline = time.monotonic() + 30
        while not tuned.is_connected and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert tuned.is_connected
        await tuned.flush(timeout=5)
    finally:
        await tuned.close()
        await plain.close()


async def test_pings_retuned_once_t_is_known_apply_to_the_running_client(
    nats_server: NatsServer,
) -> None:
    """A service connects before it knows T (startup pings) and retunes when it reads the
    pool: of two clients on the startup pings, the retuned one notices a frozen server while
    the other still counts itself connected."""
    policy = PingPolicy(interval_s=0.1, outstanding=2)
    settings = BusSettings.private(nats_server.url)
    retuned = await connect(settings, name="retuned")
    startup = await connect(settings, name="startup")
    try:
        tune_pings(retuned, policy)
        assert retuned.options["ping_interval"] == policy.interval_s
        assert retuned.options["max_outstanding_pings"] == policy.outstanding
        # Let the PING interval running at tuning time end, so that the retuned one runs.
        await asyncio.sleep(STARTUP_PINGS.interval_s + policy.interval_s)
        await retuned.flush(timeout=5)
        await startup.flush(timeout=5)
        with frozen(nats_server):
            noticed = await lost_after(retuned, max(10.0, 20 * policy.noticed_within_s))
            assert noticed is not None
            assert startup.is_connected, "the startup pings noticed first: retuning had no effect"
    finally:
        await retuned.close()
        await startup.close()


def test_the_ping_policy_notices_a_hung_server_within_a_third_of_t() -> None:
    """For every T from 10 s, a hung server is given up within T/3 (noticed_within_s), and a
    PONG may be late by T/5 and by at least PONG_SLACK_S before a healthy server is given up;
    below 10 s the slack wins (a flood's backlog must not cost the connection)."""
    for timeout_s in (10.0, 15.0, 30.0, 120.0, 3600.0):
        policy = PingPolicy.for_timeout(timeout_s)
        assert policy.noticed_within_s < timeout_s / 3
        assert policy.outstanding * policy.interval_s >= timeout_s / 5 - 1e-9
    for timeout_s in (0.5, 1.0, 2.0, 3.0, 5.0, 30.0):
        policy = PingPolicy.for_timeout(timeout_s)
        assert policy.outstanding * policy.interval_s >= PONG_SLACK_S - 1e-9
