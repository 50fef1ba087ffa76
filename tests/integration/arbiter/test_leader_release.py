"""Releasing the leader lease on a real nats-server (services/arbiter/leader.py): a stopping
leader deletes its lease key by compare-and-set, so a standby takes over at once."""

from __future__ import annotations

import time

import nats.js.errors
import pytest

from services.arbiter.leader import LEADER_KEY, LeaderLease, lease_holder, lease_value
from services.arbiter.leases import open_bucket
from services.common.natsserver import NatsServer
from services.common.timers import Timers
from tests.fixtures.nats import connect_to

TIMERS = Timers.from_timeout(2.0)


async def test_a_renewal_that_landed_after_its_cancel_does_not_keep_the_lease(
    nats_server: NatsServer,
) -> None:
    """The stop cancels the lease task while a renewal is in flight; the server still applies
    it, so the key is the leader's at a revision the leader never learnt. The release deletes
    it all the same (read again: it still names this arbiter), and the key is gone."""
    nc = await connect_to(nats_server.url)
    try:
        kv = await open_bucket(nc.jetstream(), TIMERS)
        lease = LeaderLease(kv, "a1", TIMERS.leader_lease_s, time.monotonic)
        epoch = await lease.try_acquire()
        assert epoch is not None
        # The renewal that landed after its task was cancelled.
        landed = await kv.update(LEADER_KEY, lease_value("a1"), last=epoch)
        assert landed > epoch
        await lease.release()
        with pytest.raises(nats.js.errors.KeyNotFoundError):
            await kv.get(LEADER_KEY)
    finally:
        await nc.close()


async def test_a_lease_taken_by_another_is_left_to_it(nats_server: NatsServer) -> None:
    """If another arbiter wrote the key after this one's last renewal, the release deletes
    nothing: the key still names the other arbiter."""
    nc = await connect_to(nats_server.url)
    try:
        kv = await open_bucket(nc.jetstream(), TIMERS)
        lease = LeaderLease(kv, "a1", TIMERS.leader_lease_s, time.monotonic)
        epoch = await lease.try_acquire()
        assert epoch is not None
        await kv.update(LEADER_KEY, lease_value("a2"), last=epoch)
        await lease.release()
        entry = await kv.get(LEADER_KEY)
        assert lease_holder(entry.value) == "a2"
    finally:
        await nc.close()

