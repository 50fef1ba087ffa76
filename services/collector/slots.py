"""What this collector knows of the other hosts' slots, on its own clock.

A reader never trusts a writer's clock: it notes when it first saw each (incarnation, seq) and
when it last saw the content before. Both bounds are conservative in the direction safety
needs: `stale_for` (now - first seen) never overstates how long a slot has been still, and
`advanced_after` (the last read that still showed the old content) never makes an advance
look more recent than it can have been.

A slot overwritten by a later incarnation of its host is remembered for a while: the earlier
incarnation has not written since, and the arbiter may need to hear so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from schemas.liveness import SignedRecord
from schemas.messages import SlotReading
from schemas.slot import Slot
from services.common.slot_bounds import REMEMBERED_INCARNATIONS, record_limit, record_size

__all__ = ["REMEMBERED_INCARNATIONS", "SlotBook", "SlotTrack"]


@dataclass(slots=True)
class SlotTrack:
    host: str
    incarnation: str
    seq: int
    lease_ok: bool
    fenced: bool
    first_seen: float
    last_read: float
    advanced_after: float | None  # None: never seen the slot change
    record: SignedRecord | None = None  # the newest signed record read of this incarnation
    lease_age_s: float | None = None  # as written; None: the writer did not say

    def holds_lease(self, now: float, advertise_s: float) -> bool:
        """Whether the writer may still advertise its lease now. The age written in the slot
        is aged by the time since this reader first saw the slot, which never exceeds the
        time since the write: the writer never looks staler than it can be. A slot without
        an age (older writers) says what its `lease_ok` says."""
        if self.lease_age_s is None:
            return self.lease_ok
        return self.lease_age_s + (now - self.first_seen) < advertise_s


class SlotBook:
    """Slots of the other hosts, per host, newest incarnation last."""

    def __init__(self, me: str) -> None:
        self._me = me
        self._tracks: dict[str, list[SlotTrack]] = {}

    def read(
        self,
        now: float,
        slots: Iterable[Slot],
        records: Mapping[str, SignedRecord] | None = None,
    ) -> None:
        """`records`: the signed record each host's slot file held, forwarded as read."""
        for slot in slots:
            if slot.host != self._me:
                self._read_one(now, slot, (records or {}).get(slot.host))

    def _read_one(self, now: float, slot: Slot, record: SignedRecord | None) -> None:
        if record is not None and record_size(record.body, record.sig) > record_limit(slot.host):
            # Larger than any slot its host would write: forwarding it would make this
            # observation larger than the arbiter takes, and drop every other reading with it.
            record = None
        tracks = self._tracks.setdefault(slot.host, [])
        cur = tracks[-1] if tracks else None
        if cur is not None and cur.incarnation == slot.incarnation:
            if slot.seq != cur.seq:
                cur.advanced_after, cur.seq, cur.first_seen = cur.last_read, slot.seq, now
            cur.last_read, cur.lease_ok, cur.fenced = now, slot.lease_ok, slot.fenced
            cur.record = record
            cur.lease_age_s = slot.lease_age_s
            return
        if any(t.incarnation == slot.incarnation for t in tracks):
            return  # an earlier incarnation's slot again: a stale replica, not news
        tracks.append(
            SlotTrack(
                slot.host,
                slot.incarnation,
                slot.seq,
                slot.lease_ok,
                slot.fenced,
                first_seen=now,
                last_read=now,
                advanced_after=cur.last_read if cur is not None else None,
                record=record,
                lease_age_s=slot.lease_age_s,
            )
        )
        del tracks[:-REMEMBERED_INCARNATIONS]

    def current(self, host: str) -> SlotTrack | None:
        tracks = self._tracks.get(host)
        return tracks[-1] if tracks else None

    def readings(self, now: float, forget_after_s: float) -> tuple[SlotReading, ...]:
        """Every remembered slot as a reading; earlier incarnations still for longer than
        `forget_after_s` are dropped (the arbiter has long decided about them)."""
        out = []
        for host, tracks in self._tracks.items():
            last = len(tracks) - 1
            if last:  # the current incarnation is never dropped: nothing to do without others
                tracks[:last] = [t for t in tracks[:last] if now - t.first_seen <= forget_after_s]
                last = len(tracks) - 1
            for i, t in enumerate(tracks):
                out.append(
                    SlotReading(
                        host=host,
                        incarnation=t.incarnation,
                        seq=t.seq,
                        stale_for_s=max(0.0, now - t.first_seen),
                        lease_ok=t.lease_ok,
                        fenced=t.fenced,
                        current=i == last,
                        record=t.record,
                    )
                )
        return tuple(out)
