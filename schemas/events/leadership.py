"""Leadership: which arbiter leads the pool, from which epoch on."""

from __future__ import annotations

from typing import Literal

from schemas.events.base import EventBase, Name


class LeaderElected(EventBase):
    """Arbiter `arbiter` won the leader lease; the envelope's `epoch` is the revision of that
    winning write. It is the new leader's first append, made with the expected last sequence
    of the log it folded: from then on any append of an earlier leader fails its
    expected-sequence check, so a deposed leader can no longer write."""

    type: Literal["leader_elected"] = "leader_elected"
    schema_version: Literal[1] = 1
    arbiter: Name

    def summary(self) -> str:
        return f"arbiter {self.arbiter} leads (epoch {self.epoch})"


__all__ = ["LeaderElected"]
