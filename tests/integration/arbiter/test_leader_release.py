"""Releasing the leader lease on a real nats-server (services/arbiter/leader.py): a stopping
leader deletes its lease key by compare-and-set, so a standby takes over at once."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import nats.js.errors
import pytest
from nats.js.kv import KeyValue

from services.arbiter.leader import LEADER_KEY, LeaderLease, lease_holder, lease_value
from services.arbiter.leases import open_bucket
from services.common.natsserver import NatsServer
from services.common.timers import Timers
from tests.fixtures.nats import connect_to

TIMERS = Timers.from_timeout(2.0)


@pytest.fixture
async def bucket(nats_server: NatsServer) -> AsyncIterator[KeyValue]:
    """The lease bucket on a real nats-server."""
    nc = await connect_to(nats_server.url)
    try:
        yield await open_bucket(nc.jetstream(), TIMERS)
    finally:
        await nc.close()


async def _leading(kv: KeyValue) -> tuple[LeaderLease, int]:
    """Arbiter a1 holding the lease, and its epoch."""
    lease = LeaderLease(kv, "a1", TIMERS.leader_lease_s, time.monotonic)
    epoch = await lease.try_acquire()
    assert epoch is not None
    return lease, epoch


async def test_a_renewal_that_landed_after_its_cancel_does_not_keep_the_lease(
    bucket: KeyValue,
) -> None:
    """The stop cancels the lease task while a renewal is in flight; the server still applies
    it, so the key is the leader's at a revision the leader never learnt. The release deletes
    it all the same (read again: it still names this arbiter), and the key is gone."""
    lease, epoch = await _leading(bucket)
    # The renewal that landed after its task was cancelled.
    landed = await bucket.update(LEADER_KEY, lease_value("a1"), last=epoch)
    assert landed > epoch
    await lease.release()
    with pytest.raises(nats.js.errors.KeyNotFoundError):
        await bucket.get(LEADER_KEY)


async def test_a_lease_taken_by_another_is_left_to_it(bucket: KeyValue) -> None:
    """If another arbiter wrote the key after this one's last renewal, the release deletes
    nothing: the key still names the other arbiter."""
    lease, epoch = await _leading(bucket)
    await bucket.update(LEADER_KEY, lease_value("a2"), last=epoch)
    await lease.release()
    entry = await bucket.get(LEADER_KEY)
    assert lease_holder(entry.value) == "a2"
