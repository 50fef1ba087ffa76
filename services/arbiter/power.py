"""When the leader orders a host's BMC to power it off (docs/protocol.md, Power fencing through
the BMC): pure, on the leader's clock.

A host with a fencing chain is powered off once it is suspected (lease silent for more than
T) and its slot has stood still for T too: on the leader's own reading of the store when it
has one, else on the stalest fresh collector's reading. A host that keeps writing its slot is
alive (it cut itself off the bus and fences on its own: its fenced mark will declare it), so
powering it off would only kill a live host for nothing. Never while the guard against mass
suspicion holds (the leader's own inputs are then more likely broken than the hosts), never a
host in maintenance, and once per incarnation per leadership: if the whole chain fails, the
timeout path (T_dead) goes on as without a chain.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.liveness import OwnStoreReading, PowerOffProof, SlotStale


@dataclass(frozen=True, slots=True)
class PowerOffOrder:
    """Power `host` off through its chain; the answer is for `incarnation`."""

    host: str
    incarnation: str


def slot_still_for_t(
    incarnation: str, own: OwnStoreReading | None, stale: SlotStale | None, timeout_s: float
) -> bool:
    """Whether the host's slot has not advanced for T: on the leader's own reading when it
    reads the store (`own` not None), else on a fresh collector's reading."""
    if own is not None:
        slot = own.slot
        return slot is not None and slot.incarnation == incarnation and (
            slot.seq is not None and slot.still_for_s >= timeout_s
        )
    return stale is not None and stale.stale_for_s >= timeout_s


@dataclass(slots=True)
class PowerFencing:
    """The leader's power-off orders and their answers, for one leadership."""

    ordered: dict[str, tuple[str, float]] = field(default_factory=dict)  # host -> (inc, at)
    proofs: dict[str, PowerOffProof] = field(default_factory=dict)  # host -> its answer

    def order(self, host: str, incarnation: str, now: float) -> PowerOffOrder | None:
        """An order for this incarnation, unless one was given already."""
        if self.ordered.get(host, ("", 0.0))[0] == incarnation:
            return None
        self.ordered[host] = (incarnation, now)
        self.proofs.pop(host, None)
        return PowerOffOrder(host, incarnation)

    def answered(self, host: str, proof: PowerOffProof) -> bool:
        """Take the chain's answer; False when no order of that incarnation is pending."""
        if self.ordered.get(host, ("", 0.0))[0] != proof.incarnation:
            return False
        self.proofs[host] = proof
        return True

    def proof(self, host: str, incarnation: str) -> PowerOffProof | None:
        proof = self.proofs.get(host)
        return proof if proof is not None and proof.incarnation == incarnation else None

    def forget(self, host: str) -> None:
        self.proofs.pop(host, None)
