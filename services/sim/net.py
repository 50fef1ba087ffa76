"""The simulated bus and its key-value leases.

Endpoints are host names and witness arbiters. An endpoint's `side` says which part of the
network it is in: QUORUM (it reaches the NATS servers that hold the quorum), an island name
(a partition: it hears the other endpoints of its island, not the quorum), or None (its link
is down). Core NATS messages flow within a side; lease renewals and leader elections need the
quorum side while the quorum exists.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

QUORUM = "quorum"


@dataclass(slots=True)
class Quality:
    delay_s: float = 0.0
    loss: float = 0.0
    duplication: float = 0.0


@dataclass(slots=True)
class Network:
    rng: random.Random
    side: dict[str, str | None] = field(default_factory=dict)
    quality: dict[str, Quality] = field(default_factory=dict)
    quorum_ok: bool = True

    def can_talk(self, a: str, b: str) -> bool:
        side = self.side.get(a)
        return side is not None and side == self.side.get(b)

    def reaches_quorum(self, a: str) -> bool:
        return self.quorum_ok and self.side.get(a) == QUORUM

    def _q(self, a: str) -> Quality:
        return self.quality.get(a, PERFECT)

    def lost(self, a: str, b: str) -> bool:
        p = max(self._q(a).loss, self._q(b).loss)
        return p > 0 and self.rng.random() < p

    def delays(self, a: str, b: str) -> list[float]:
        """Delivery delays of one message: empty if lost, two entries if duplicated."""
        qa, qb = self._q(a), self._q(b)
        if qa is PERFECT and qb is PERFECT:
            return _AT_ONCE
        if (qa.loss or qb.loss) and self.rng.random() < max(qa.loss, qb.loss):
            return []
        span = max(qa.delay_s, qb.delay_s)
        first = self.rng.uniform(0.0, span) if span else 0.0
        dup = max(qa.duplication, qb.duplication)
        if dup and self.rng.random() < dup:
            return [first, first + self.rng.uniform(0.0, max(span, 0.01))]
        return [first]


PERFECT = Quality()  # the one perfect link: `is PERFECT` is the fast path's test
_AT_ONCE = [0.0]


def quality(delay_s: float, loss: float, duplication: float) -> Quality:
    """The link quality; the shared perfect one when nothing is wrong (a fast path)."""
    if not (delay_s or loss or duplication):
        return PERFECT
    return Quality(delay_s, loss, duplication)


@dataclass(slots=True)
class Leases:
    """The KV bucket `ha_leases`: host leases (with revocation of dead incarnations) and the
    arbiter leader lease (its term is the leader's fencing epoch)."""

    holder: dict[str, str] = field(default_factory=dict)  # host -> incarnation
    revoked: set[tuple[str, str]] = field(default_factory=set)
    leader: str | None = None
    leader_until: float = 0.0
    term: int = 0
    leader_since: float = 0.0

    def renew(self, host: str, incarnation: str) -> bool:
        if (host, incarnation) in self.revoked:
            return False  # compare-and-set on a revoked revision fails
        self.holder[host] = incarnation
        return True
