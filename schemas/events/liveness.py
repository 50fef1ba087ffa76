"""Liveness decisions: the arbiter's verdicts on hosts, each with the evidence behind it, so
that `haplan audit verify` can re-run the rule on exactly what the arbiter saw."""

from __future__ import annotations

from typing import Literal

from schemas.events.base import EventBase, HostEvent, Name
from schemas.liveness import (
    DeadEvidence,
    FencedMark,
    GuardEvidence,
    GuardReleaseEvidence,
    SuspectEvidence,
)


class HostSuspected(HostEvent):
    """The host's lease has been silent for more than T: it gets no new VMs until it rejoins
    or is declared dead."""

    type: Literal["host_suspected"] = "host_suspected"
    schema_version: Literal[1] = 1
    evidence: SuspectEvidence

    def summary(self) -> str:
        return (
            f"host {self.host} suspected: lease silent for {self.evidence.lease_silent_for_s:g} s"
        )


class HostRejoined(HostEvent):
    """A suspected host showed life again (same incarnation, lease renewed) before it was
    declared dead: it is a full liveset member again."""

    type: Literal["host_rejoined"] = "host_rejoined"
    schema_version: Literal[1] = 1
    incarnation: Name

    def summary(self) -> str:
        return f"host {self.host} rejoined (incarnation {self.incarnation})"


class HostFenced(HostEvent):
    """The host said it fenced itself (its VMs are killed); `mark` says where it said so."""

    type: Literal["host_fenced"] = "host_fenced"
    # 2: a slot-sourced mark carries the host's signed record (1: before signed slots).
    schema_version: Literal[2] = 2
    mark: FencedMark

    def summary(self) -> str:
        return f"host {self.host} fenced itself (mark on the {self.mark.source})"


class HostDeclaredDead(HostEvent):
    """The arbiter declared the host dead: its VMs may now be restarted elsewhere and every
    order pending for it is void."""

    type: Literal["host_declared_dead"] = "host_declared_dead"
    # 2: a slot-sourced mark carries the host's signed record (1: before signed slots).
    # 3: a timeout declaration carries the leader's own reading of the store (`own_store`;
    # 2: the timeout path took a collector's reading).
    # 4: a declaration may rest on a BMC's confirmed power-off (rule "power_off", `power_off`).
    schema_version: Literal[4] = 4
    evidence: DeadEvidence

    def summary(self) -> str:
        return f"host {self.host} declared dead (rule {self.evidence.rule})"


class GuardEngaged(EventBase):
    """More than the pool's share of its members became suspect within one T: the arbiter's
    own inputs (its bus, the lease watch) are more likely broken than that many hosts dead. It
    declares no host dead on silence (the timeout rule) until the guard releases; a host's own
    word that it fenced still counts (docs/protocol.md, Guard rail against mass suspicion)."""

    type: Literal["guard_engaged"] = "guard_engaged"
    schema_version: Literal[1] = 1
    evidence: GuardEvidence

    def summary(self) -> str:
        hosts = ", ".join(r.host for r in self.evidence.recent)
        return (
            f"guard engaged: {len(self.evidence.recent)} of {self.evidence.members} hosts "
            f"suspected within {self.evidence.timeout_s:g} s ({hosts}); no declaration on "
            "silence until it releases"
        )


class GuardReleased(EventBase):
    """The suspected hosts are no longer more than the share (they rejoined, or were declared
    dead on their own word): declarations on silence resume."""

    type: Literal["guard_released"] = "guard_released"
    schema_version: Literal[1] = 1
    evidence: GuardReleaseEvidence

    def summary(self) -> str:
        e = self.evidence
        return f"guard released: {len(e.suspects)} of {e.members} hosts still suspected"


__all__ = [
    "GuardEngaged",
    "GuardReleased",
    "HostDeclaredDead",
    "HostFenced",
    "HostRejoined",
    "HostSuspected",
]
