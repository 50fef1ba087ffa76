"""What a renewal's failed compare-and-set means, on a real nats-server: the collector's
`LeaseKeeper` calls it a revocation (and the shell then fences at once) only when the key,
read back, holds no value of its incarnation; its own renewal whose ack was lost is adopted,
never taken for a revocation."""

from __future__ import annotations

from nats.aio.client import Client

from schemas.reports import HostLease
from services.arbiter.leases import parse_host_lease, revoke
from services.collector.lease import LeaseKeeper
from services.common.lease_bucket import LEASE_BUCKET, host_lease_key
from services.common.timers import Timers

TIMERS = Timers.from_timeout(10.0)
SUBJECT = f"$KV.{LEASE_BUCKET}.{host_lease_key('lab1')}"


def _keeper(nc: Client, incarnation: str = "lab1-a") -> LeaseKeeper:
    return LeaseKeeper(nc, "lab1", incarnation, TIMERS, timeout_s=2.0)


async def _write(nc: Client, incarnation: str, seq: int, expected: int) -> int:
    """A lease value written straight to the key (compare-and-set on `expected`)."""
    value = HostLease(host="lab1", incarnation=incarnation, seq=seq)
    ack = await nc.jetstream().publish(
        SUBJECT,
        value.model_dump_json().encode(),
        headers={"Nats-Expected-Last-Subject-Sequence": str(expected)},
    )
    return int(ack.seq)


async def test_its_own_renewal_with_a_lost_ack_is_adopted_not_a_revocation(
    nats_client: Client,
) -> None:
    """A renewal of this incarnation landed but its ack never came back (written here behind
    the keeper's back): the next renewal's compare-and-set fails, the key reads back as its
    own value, and the keeper renews on top of it; nothing is revoked."""
    keeper = _keeper(nats_client)
    assert await keeper.renew()
    kv = await nats_client.jetstream().key_value(LEASE_BUCKET)
    first = await kv.get(host_lease_key("lab1"), validate_keys=False)
    assert first.revision is not None
    landed = await _write(nats_client, "lab1-a", 99, first.revision)
    assert await keeper.renew()
    assert not keeper.revoked
    after = await kv.get(host_lease_key("lab1"), validate_keys=False)
    assert after.revision is not None and after.revision > landed
    assert after.value is not None
    assert HostLease.model_validate_json(after.value).incarnation == "lab1-a"


async def test_the_arbiters_revocation_is_recognised_and_never_written_back(
    nats_client: Client,
) -> None:
    """The arbiter deletes the lease by compare-and-set (services.arbiter.leases.revoke): the
    next renewal fails, the keeper says revoked, and later renewals do not write the key."""
    keeper = _keeper(nats_client)
    assert await keeper.renew()
    kv = await nats_client.jetstream().key_value(LEASE_BUCKET)
    entry = await kv.get(host_lease_key("lab1"), validate_keys=False)
    assert entry.revision is not None
    assert await revoke(kv, parse_host_lease(entry.key, entry.value, entry.revision))
    assert not await keeper.renew()
    assert keeper.revoked
    assert not await keeper.renew()
    msg = await nats_client.jetstream().get_last_msg(f"KV_{LEASE_BUCKET}", SUBJECT)
    assert not msg.data  # still the delete marker


async def test_a_lease_taken_by_another_incarnation_is_a_revocation(
    nats_client: Client,
) -> None:
    """Another incarnation of the host wrote the key: this one's lease is gone for good."""
    keeper = _keeper(nats_client)
    assert await keeper.renew()
    kv = await nats_client.jetstream().key_value(LEASE_BUCKET)
    entry = await kv.get(host_lease_key("lab1"), validate_keys=False)
    assert entry.revision is not None
    await _write(nats_client, "lab1-b", 1, entry.revision)
    assert not await keeper.renew()
    assert keeper.revoked


async def test_a_bus_failure_is_no_revocation(nats_client: Client) -> None:
    """A renewal that fails because the client is gone says False and nothing more: THE
    TABLE, not a revocation, deals with it."""
    keeper = _keeper(nats_client)
    assert await keeper.renew()
    await nats_client.close()
    assert not await keeper.renew()
    assert not keeper.revoked
