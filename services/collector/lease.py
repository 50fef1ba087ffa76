"""The host lease in KV bucket `ha_leases`: what "bus ok" means (DESIGN.md, Liveness).

Only a collector that reaches the side of NATS holding the JetStream quorum can write the
lease, so a renewal that was acknowledged proves the host is on that side. Every write is a
compare-and-set on the last revision the writer knows:
- an incarnation's first write takes the key over from whatever is there (an earlier
  incarnation's lease, a delete marker, nothing);
- later renewals expect the revision this incarnation wrote last. When that fails, the key is
  read: this incarnation's own value means an acknowledgement got lost (its revision is
  adopted); a key that is gone because it expired may be created again; anything else (a
  delete marker, another value) is a revocation by the arbiter, and this incarnation never
  renews the lease again, so it fences by THE TABLE.

The bucket's max age is T: a lease nobody renews vanishes (leaving a marker for watchers).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from pydantic import ValidationError

from schemas.reports import HostLease
from services.common.lease_bucket import (
    LEASE_BUCKET,
    LEASE_STREAM,
    host_lease_key,
    lease_bucket_config,
)
from services.common.logging import get_logger
from services.common.timers import Timers

log = get_logger("haplan.collector.lease")

_STREAM = LEASE_STREAM
_EXPECTED_LAST = "Nats-Expected-Last-Subject-Sequence"
_KV_OPERATION = "KV-Operation"
_MARKER_REASON = "Nats-Marker-Reason"
_WRONG_LAST = (10071, 10164)


async def open_lease_bucket(nc: Client, timers: Timers, timeout_s: float, replicas: int) -> None:
    """Create `ha_leases` unless it exists (an existing bucket is used as it is)."""
    js = nc.jetstream(timeout=timeout_s)
    try:
        await js.stream_info(_STREAM)
        return
    except nats.js.errors.NotFoundError:
        pass
    try:
        await js.create_key_value(lease_bucket_config(timers, replicas))
        log.info(
            "lease bucket created", bucket=LEASE_BUCKET, max_age_s=timers.timeout_s,
            replicas=replicas,
        )  # fmt: skip
    except nats.js.errors.BadRequestError:
        # Created meanwhile by another collector or the arbiter, maybe with other limits.
        await js.stream_info(_STREAM)


class Holding(Enum):
    MINE = "mine"  # this incarnation's value
    GONE = "gone"  # no value: never written, or expired for age
    TAKEN = "taken"  # revoked (delete marker) or another incarnation's value


@dataclass(frozen=True, slots=True)
class Current:
    holding: Holding
    revision: int  # the subject's last sequence (0: none), for the next compare-and-set


class LeaseKeeper:
    """Renews one incarnation's host lease; `renew()` says whether it was acknowledged."""

    def __init__(
        self,
        nc: Client,
        host: str,
        incarnation: str,
        timers: Timers,
        timeout_s: float,
        replicas: int = 1,
    ) -> None:
        self.host, self.incarnation, self.timers = host, incarnation, timers
        self._nc = nc
        self._js = nc.jetstream(timeout=timeout_s)
        self._timeout = timeout_s
        self._replicas = replicas
        self._subject = f"$KV.{LEASE_BUCKET}.{host_lease_key(host)}"
        self._bucket_ready = False
        self._revision: int | None = None  # None until this incarnation first wrote
        self._seq = 0
        self.revoked = False  # sticky: a revoked lease is never renewed again

    async def renew(self) -> bool:
        """One renewal attempt; True when acknowledged. Never raises for bus trouble."""
        if self.revoked:
            return False
        try:
            if not self._bucket_ready:
                await open_lease_bucket(self._nc, self.timers, self._timeout, self._replicas)
                self._bucket_ready = True
            return await self._renew()
        except nats.errors.NoRespondersError:
            self._bucket_ready = False  # the bucket's stream is gone: open it again
            return False
        except (nats.errors.Error, OSError) as exc:
            log.debug("lease renewal failed", error=type(exc).__name__)
            return False

    async def _renew(self) -> bool:
        if self._revision is None:
            return await self._write((await self._current()).revision)
        if await self._write(self._revision):
            return True
        current = await self._current()
        if current.holding is Holding.MINE:
            # An earlier write landed but its ack was lost: renew on top of it.
            return await self._write(current.revision)
        if current.holding is Holding.GONE:
            log.warning("the host lease expired; creating it again", host=self.host)
            return await self._write(current.revision)
        self.revoked = True
        log.error(
            "the host lease was revoked or taken over: this incarnation cannot renew it",
            host=self.host,
            incarnation=self.incarnation,
        )
        return False

    async def _write(self, expected: int) -> bool:
        self._seq += 1
        value = HostLease(host=self.host, incarnation=self.incarnation, seq=self._seq)
        try:
            ack = await self._js.publish(
                self._subject,
                value.model_dump_json().encode(),
                headers={_EXPECTED_LAST: str(expected)},
            )
        except nats.js.errors.APIError as exc:
            if exc.err_code in _WRONG_LAST:
                return False
            raise
        self._revision = int(ack.seq)
        return True

    async def _current(self) -> Current:
        try:
            msg: Any = await self._js.get_last_msg(_STREAM, self._subject)
        except nats.js.errors.NotFoundError:
            return Current(Holding.GONE, 0)
        revision = int(msg.seq)
        headers = msg.headers or {}
        if headers.get(_MARKER_REASON) == "MaxAge":
            return Current(Holding.GONE, revision)
        if _KV_OPERATION in headers or _MARKER_REASON in headers or not msg.data:
            return Current(Holding.TAKEN, revision)
        try:
            lease = HostLease.model_validate_json(msg.data)
        except ValidationError:
            return Current(Holding.TAKEN, revision)
        if lease.host == self.host and lease.incarnation == self.incarnation:
            return Current(Holding.MINE, revision)
        return Current(Holding.TAKEN, revision)
