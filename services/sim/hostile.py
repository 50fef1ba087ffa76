"""Signed slots in the simulator, and the hostile host (docs/protocol.md, Signed slots).

Every simulated host has a key pair (derived from its name, so runs repeat) registered in the
pool the arbiters load, and signs its slot as a collector does. Signing costs ~0.1 ms, a lot
for 10,000 schedules, so a host signs only the slots a reader could need as its word: while
its incarnation is joining (the evidence that an earlier incarnation is gone) and when it
fences. A member's ordinary slot is never taken as evidence of anything but staleness, which
is the observer's word anyway.

A hostile host (fault `hostile`) runs its collector normally and also publishes, on its own
store-observation subject (all its credential allows), forged readings about every other host:
their fenced marks and new incarnations signed with its own key, their genuine old records
replayed (earlier incarnations, old fenced marks), genuine records under readings rewritten to
say fenced; several times an interval (a flood).

A join forger (fault `join_forger`) goes further than any host's credential allows: it also
publishes join requests on every other host's join subject (a leaked, shared or misissued
credential), for a new incarnation of each, with no record, a record signed with its own key,
or the victim's genuine records replayed. Only the victim's own signature on a slot of that
very incarnation (docs/protocol.md, Joins are signed too) keeps them from fencing it.

Two lies no signature can catch, each a scenario's fault: a stale liar says every other
host's slot has been still for an hour (staleness is the observer's word), and a lease liar
writes in its own slot that its lease proof has expired while it renews it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from schemas.liveness import SignedRecord
from schemas.messages import Beacon, JoinRequest, SlotReading, StoreObservation
from schemas.pool import Pool
from schemas.slot import Slot
from services.arbiter.stillness import signed_slot
from services.common.signing import HostSigner

FLOOD = 3  # forged observations per interval of a hostile host, spread over it
REPLAYS_KEPT = 6  # genuine records a hostile host keeps per host to replay
STILL_FOR_S = 3600.0  # how long a stale liar says the other slots have been still


SIGNED_KEPT = 1024  # bodies a simulated signer remembers having signed


class _RepeatSigner(HostSigner):
    """A signer that signs each body once. Ed25519 signatures are deterministic (RFC 8032): the
    same body signed again gets the same signature, so the answer is the one signing would
    give. A hostile host forges the same slots every interval while its victim's slot stands
    still, and a join forger the same joins."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        super().__init__(key)
        self._signed: dict[str, SignedRecord] = {}

    def sign(self, body: str) -> SignedRecord:
        record = self._signed.get(body)
        if record is None:
            record = self._signed[body] = super().sign(body)
            if len(self._signed) > SIGNED_KEPT:
                del self._signed[next(iter(self._signed))]
        return record


@lru_cache(maxsize=4096)
def fixed_signer(host: str) -> HostSigner:
    """`host`'s key pair derived from its name, so that runs and logs built with it repeat:
    the simulator's hosts, and the tests' fixtures (never a real host's key)."""
    seed = hashlib.sha256(f"haplan-sim:{host}".encode()).digest()
    return _RepeatSigner(Ed25519PrivateKey.from_private_bytes(seed))


def with_keys(pool: Pool) -> Pool:
    """The pool with every host's simulated public key registered."""
    hosts = tuple(h.model_copy(update={"key": fixed_signer(h.name).public}) for h in pool.hosts)
    return pool.model_copy(update={"hosts": hosts})


def sign(slot: Slot) -> SignedRecord:
    return fixed_signer(slot.host).sign(slot.model_dump_json())


def own_slot(key: str | None, slot: Slot, record: SignedRecord | None) -> Slot | None:
    """How a simulated arbiter takes a slot it read as its host's word: the simulator's store
    holds only what each host wrote in its own slot (no fault writes into another's), which is
    what the real arbiter's signature check proves (services.arbiter.stillness.signed_slot);
    a record, when the host signed one, is checked all the same. A slot a decision records
    gets its record then (`sign`, the arbiter's `record_of`): a signature per write would
    slow every run down several times."""
    return slot if record is None else signed_slot(key, slot, record)


def _reading(slot: Slot, record: SignedRecord | None, **changes: object) -> SlotReading:
    r = SlotReading(
        host=slot.host, incarnation=slot.incarnation, seq=slot.seq, stale_for_s=0.0,
        lease_ok=slot.lease_ok, fenced=slot.fenced, record=record,
    )  # fmt: skip
    return r.model_copy(update=changes) if changes else r


class Forger:
    """What a hostile host knows to forge with: every genuine record it has read."""

    def __init__(self) -> None:
        self.replays: dict[str, list[tuple[Slot, SignedRecord]]] = {}

    def read(self, slot: Slot, record: SignedRecord) -> None:
        kept = self.replays.setdefault(slot.host, [])
        if not any(s.incarnation == slot.incarnation and s.fenced == slot.fenced for s, _ in kept):
            kept.append((slot, record))
            del kept[:-REPLAYS_KEPT]

    def observation(
        self,
        genuine: StoreObservation,
        slots: Mapping[str, Slot],
        records: Mapping[str, SignedRecord],
    ) -> StoreObservation:
        """The host's `genuine` observation with the forged readings added. The genuine readings
        stay: staleness is the observer's word, and a sole observer that lies about it only
        delays a failover, unless its own slot lies about its lease too (`stale_lies`,
        `lease_lie`); what is tested here is forged evidence of death."""
        observer, beacon = genuine.observer, genuine.beacon
        key = fixed_signer(observer)
        readings: list[SlotReading] = list(genuine.readings)
        for host, slot in sorted(slots.items()):
            if host == observer:
                continue
            forged_incarnation = f"{slot.incarnation}~forged"
            readings.extend(forgeries(slot, records.get(host), key, beacon, forged_incarnation))
            for old, record in self.replays.get(host, ()):
                readings.append(_reading(old, record))
                readings.append(_reading(old, record, current=False))
        return genuine.model_copy(update={"readings": tuple(readings)})


def forgeries(
    slot: Slot,
    genuine: SignedRecord | None,
    key: HostSigner,
    beacon: Beacon | None,
    forged_incarnation: str,
) -> tuple[SlotReading, ...]:
    """What a hostile host with `key` (its own) can claim about the host whose current slot is
    `slot`: that slot fenced, and a new incarnation `forged_incarnation`, both signed with
    `key` and echoing `beacon` (so they are fresh); and the host's `genuine` signed record, if
    it has one, under a reading rewritten to say fenced. The simulator's hostile host, the
    arbiter's integration test and the lab's hostile host (tests/fixtures/forgery.py) all
    publish these."""
    fenced = slot.model_copy(update={"seq": slot.seq + 1, "fenced": True, "beacon": beacon})
    later = slot.model_copy(update={"incarnation": forged_incarnation, "seq": 1, "beacon": beacon})
    out = [
        _reading(fenced, key.sign(fenced.model_dump_json())),
        _reading(later, key.sign(later.model_dump_json())),
    ]
    if genuine is not None:
        out.append(_reading(slot, genuine, fenced=True))
    return tuple(out)


def forged_joins(
    forger: str,
    slots: Mapping[str, Slot],
    replays: Mapping[str, list[tuple[Slot, SignedRecord]]],
    beacon: Beacon | None,
) -> tuple[JoinRequest, ...]:
    """The join requests a join forger publishes for every host but itself whose slot is in
    `slots`, each for a new incarnation and echoing `beacon` (fresh): with no record, with a
    record of that incarnation signed with the forger's own key, and with each of the host's
    genuine records the forger kept (`replays`: another incarnation's slot, or a fenced one)."""
    key = fixed_signer(forger)
    out: list[JoinRequest] = []
    for host, slot in sorted(slots.items()):
        if host == forger:
            continue
        incarnation = f"{slot.incarnation}~joined"
        later = slot.model_copy(
            update={"incarnation": incarnation, "seq": 1, "fenced": False, "beacon": beacon}
        )
        records = [None, key.sign(later.model_dump_json())]
        records += [record for _, record in replays.get(host, ())]
        out += [
            JoinRequest(host=host, incarnation=incarnation, beacon=beacon, record=r)
            for r in records
        ]
    return tuple(out)


def stale_lies(
    genuine: StoreObservation,
    slots: Mapping[str, Slot],
    replays: Mapping[str, list[tuple[Slot, SignedRecord]]],
) -> StoreObservation:
    """The `genuine` observation with a lie added about every other host whose slot is in
    `slots`: its current incarnation's slot still for STILL_FOR_S, at the seq of the oldest
    record of that incarnation the liar kept (forwarded with it), else at the current seq."""
    readings = list(genuine.readings)
    for host, slot in sorted(slots.items()):
        if host == genuine.observer:
            continue
        kept = [(s, r) for s, r in replays.get(host, ()) if s.incarnation == slot.incarnation]
        old, record = kept[0] if kept else (slot, None)
        still = _reading(old, record, stale_for_s=STILL_FOR_S, lease_ok=False, fenced=False)
        readings.append(still)
    return genuine.model_copy(update={"readings": tuple(readings)})


def lease_lie(slot: Slot, timeout_s: float) -> Slot:
    """`slot` as a lease liar writes it: its lease proof at least T old, so not advertised."""
    age = max(timeout_s, slot.lease_age_s or 0.0)
    return slot.model_copy(update={"lease_ok": False, "lease_age_s": age})
