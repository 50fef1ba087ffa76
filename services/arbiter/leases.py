"""The KV bucket `ha_leases`: opening it, reading host leases, revoking a dead incarnation's.

Host leases live under `host.<host token>` (services.common.subjects.encode_token), written by
each host's collector every interval with compare-and-set; the value is a JSON object naming
the collector's incarnation: `{"incarnation": "...", ...}` (other fields are the collector's).
"""

from __future__ import annotations

import json
from typing import NamedTuple

import nats.js.errors
from nats.js import JetStreamContext
from nats.js.kv import KeyValue

from services.arbiter.wire import Malformed
from services.common.lease_bucket import (
    HOST_PREFIX,
    LEASE_BUCKET,
    host_lease_key,
    lease_bucket_config,
)
from services.common.logging import get_logger
from services.common.subjects import decode_token
from services.common.timers import Timers

log = get_logger("haplan.arbiter.leases")


class HostLease(NamedTuple):
    host: str
    incarnation: str
    revision: int


def parse_host_lease(key: str, value: bytes | None, revision: int) -> HostLease:
    """The lease a `host.*` entry holds, or Malformed."""
    try:
        host = decode_token(key.removeprefix(HOST_PREFIX))
    except (ValueError, UnicodeDecodeError):
        raise Malformed(f"key {key!r} does not name a host") from None
    try:
        data = json.loads(value or b"")
    except (ValueError, UnicodeDecodeError):
        raise Malformed(f"lease of {host} is not JSON") from None
    incarnation = data.get("incarnation") if isinstance(data, dict) else None
    if not isinstance(incarnation, str) or not incarnation:
        raise Malformed(f"lease of {host} names no incarnation")
    return HostLease(host, incarnation, revision)


async def open_bucket(js: JetStreamContext, timers: Timers, replicas: int = 1) -> KeyValue:
    """The `ha_leases` bucket, created if missing with the collectors' configuration (max age
    T, expiry markers, replicated like the event log); an existing bucket is used as it is
    (the collectors may have created it first)."""
    try:
        return await js.key_value(LEASE_BUCKET)
    except nats.js.errors.BucketNotFoundError:
        pass
    try:
        return await js.create_key_value(lease_bucket_config(timers, replicas))
    except nats.js.errors.APIError:
        # Created concurrently (maybe with another max age): use that one.
        return await js.key_value(LEASE_BUCKET)


async def revoke(kv: KeyValue, lease: HostLease) -> bool:
    """Delete `lease` by compare-and-set on its revision, so that a renewal of that
    incarnation still in flight fails instead of bringing it back. A newer write of the same
    incarnation is revoked too; a later incarnation's lease is left alone."""
    key = host_lease_key(lease.host)
    revision = lease.revision
    for _ in range(3):
        try:
            await kv.delete(key, last=revision, validate_keys=False)
            return True
        except nats.js.errors.APIError as exc:
            if exc.err_code not in (10071, 10164):  # wrong last sequence
                raise
        try:
            entry = await kv.get(key, validate_keys=False)
        except nats.js.errors.KeyNotFoundError:
            return True  # gone already
        assert entry.revision is not None
        if not entry.value:
            return True  # an expiry marker: gone already
        try:
            current = parse_host_lease(key, entry.value, entry.revision)
        except Malformed:
            return False
        if current.incarnation != lease.incarnation:
            return False
        revision = current.revision
    log.warning("could not revoke a lease: it kept moving", host=lease.host)
    return False
