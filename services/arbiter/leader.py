"""Leader election on the KV bucket `ha_leases`, key `arbiter` (docs/protocol.md).

A candidate creates the key when it is absent, or replaces it by compare-and-set once it has
expired: its revision has not moved for the leader lease time on the candidate's own clock.
The leader renews it by compare-and-set on the revision it last wrote, every interval. The
revision of the winning write is the leader's epoch.

The leader holds the lease only while its last successful renewal is younger than the lease
time on its own clock, measured from when that renewal was sent: a standby waits the same
time from when it first saw that revision, which is later, so the leader has stopped acting
before anyone can take over. The log's expected-sequence fence (leader_elected) covers what
clocks cannot.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import nats.errors
import nats.js.errors
from nats.js.kv import KeyValue

from services.common.eventstore.jetstream import WRONG_LAST_SEQUENCE
from services.common.logging import get_logger

LEADER_KEY = "arbiter"

log = get_logger("haplan.arbiter.leader")

# What a failed KV request may raise besides a lost compare-and-set: the bus is slow or gone.
_UNAVAILABLE = (nats.errors.Error, TimeoutError, OSError)


def lease_value(ident: str) -> bytes:
    return json.dumps({"arbiter": ident}).encode()


def lease_holder(value: bytes | None) -> str | None:
    """The arbiter a leader-lease value names; None if it names none."""
    try:
        data = json.loads(value or b"")
    except ValueError:
        return None
    holder = data.get("arbiter") if isinstance(data, dict) else None
    return holder if isinstance(holder, str) and holder else None


class LeaderLease:
    """One candidate's view of the leader lease. Not thread-safe; one asyncio task drives it."""

    def __init__(
        self, kv: KeyValue, ident: str, lease_s: float, clock: Callable[[], float]
    ) -> None:
        self._kv, self.ident, self.lease_s, self._clock = kv, ident, lease_s, clock
        self.epoch: int | None = None  # set while this candidate leads
        self._revision: int | None = None  # the revision we last wrote
        self._renewed_at = float("-inf")  # when the last successful write was sent
        self._seen: tuple[int, float] | None = None  # someone else's revision, first seen at
        self.holder: str | None = None  # who holds the lease, as last read

    def held(self, now: float) -> bool:
        return self.epoch is not None and now - self._renewed_at < self.lease_s

    async def try_acquire(self) -> int | None:
        """Take the lease if it is free or expired; the new epoch, or None."""
        now = self._clock()
        try:
            entry = await self._kv.get(LEADER_KEY)
        except nats.js.errors.KeyNotFoundError:
            entry = None
        except _UNAVAILABLE as exc:
            log.debug("cannot read the leader lease", error=repr(exc))
            return None
        try:
            if entry is None:
                revision = await self._kv.create(LEADER_KEY, lease_value(self.ident))
            elif lease_holder(entry.value) is None:
                # An expiry marker (or a value naming nobody): free, take it by CAS on it.
                assert entry.revision is not None
                revision = await self._kv.update(
                    LEADER_KEY, lease_value(self.ident), last=entry.revision
                )
            else:
                self.holder = lease_holder(entry.value)
                assert entry.revision is not None
                if self._seen is None or self._seen[0] != entry.revision:
                    self._seen = (entry.revision, now)
                    return None
                if now - self._seen[1] < self.lease_s:
                    return None
                log.info("the leader lease expired", holder=self.holder, revision=entry.revision)
                revision = await self._kv.update(
                    LEADER_KEY, lease_value(self.ident), last=entry.revision
                )
        except nats.js.errors.KeyWrongLastSequenceError:
            return None  # another candidate won the race
        except _UNAVAILABLE as exc:
            log.debug("cannot write the leader lease", error=repr(exc))
            return None
        self.epoch = self._revision = revision
        self._renewed_at = now
        self._seen = None
        self.holder = self.ident
        return revision

    async def renew(self) -> bool:
        """Renew by compare-and-set; False once the lease is lost for sure (someone else
        wrote) or no renewal has succeeded within the lease time."""
        if self.epoch is None or self._revision is None:
            return False
        sent = self._clock()
        epoch = self.epoch
        try:
            revision = await self._kv.update(
                LEADER_KEY, lease_value(self.ident), last=self._revision
            )
        except nats.js.errors.KeyWrongLastSequenceError:
            log.warning("the leader lease was taken or expired", epoch=epoch)
            self.abandon()
            return False
        except _UNAVAILABLE as exc:
            log.warning("leader lease renewal failed", error=repr(exc) or type(exc).__name__)
            return self.held(self._clock())
        if self.epoch != epoch:
            return False  # we stepped down while the renewal was in flight
        self._revision, self._renewed_at = revision, sent
        return True

    def abandon(self) -> None:
        """Stop leading without touching the key (it is someone else's, or lost)."""
        self.epoch = self._revision = None
        self._renewed_at = float("-inf")

    async def release(self) -> None:
        """Give the lease up at once (delete by compare-and-set) so a standby takes over
        without waiting for it to expire."""
        revision = self._revision
        self.abandon()
        if revision is None:
            return
        try:
            try:
                await self._kv.delete(LEADER_KEY, last=revision)
            except nats.js.errors.APIError as exc:
                if exc.err_code != WRONG_LAST_SEQUENCE:
                    raise
                # A renewal cancelled while in flight (the stop cancels the lease task) may
                # still have landed: the key is then ours at a newer revision. Read it, and
                # delete it only if it still names this arbiter, by compare-and-set again.
                revision = await self._own_revision()
                if revision is None:
                    log.info("leader lease already taken or expired")
                    return
                await self._kv.delete(LEADER_KEY, last=revision)
            log.info("leader lease released", revision=revision)
        except _UNAVAILABLE as exc:
            log.warning("could not release the leader lease", error=repr(exc))

    async def _own_revision(self) -> int | None:
        """The lease key's revision while it names this arbiter; None otherwise."""
        try:
            entry = await self._kv.get(LEADER_KEY)
        except nats.js.errors.KeyNotFoundError:
            return None
        if lease_holder(entry.value) != self.ident:
            return None
        return entry.revision
