"""THE TABLE: whether a host stays or fences (DESIGN.md, Liveness and fencing).

Keyed by (lease_ok, store_ok); each row says when the host stays and, otherwise, why it fences.
This module is the table and nothing else, so that it reads like the design and a test can walk
every combination of its inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class StaysOnlyIf(StrEnum):
    ALWAYS = "always"
    # Global storage outage: every peer heard on the bus lost the store too, so fencing this
    # host would help no one.
    PEERS_LOST_STORE = "peers_lost_store"
    # Global bus outage: no host holds the quorum, so no arbiter can restart anything.
    GLOBAL_BUS_OUTAGE = "global_bus_outage"
    NEVER = "never"


@dataclass(frozen=True, slots=True)
class Row:
    stays_only_if: StaysOnlyIf
    # Why the host fences when the condition does not hold (None: it never fences).
    otherwise: str | None
    # Where the fence can still be announced (the collector tries every channel anyway).
    says_fenced_on: str | None = None


@dataclass(frozen=True, slots=True)
class Facts:
    """The four inputs of the table, as the collector derived them at one evaluation."""

    lease_ok: bool
    store_ok: bool
    peers_lost_store: bool
    global_bus_outage: bool


@dataclass(frozen=True, slots=True)
class Verdict:
    stay: bool
    row: Row

    @property
    def reason(self) -> str | None:
        return None if self.stay else self.row.otherwise


FENCE_TABLE: Mapping[tuple[bool, bool], Row] = MappingProxyType(
    {
        # (lease_ok, store_ok)
        (True, True): Row(StaysOnlyIf.ALWAYS, None),
        (True, False): Row(
            StaysOnlyIf.PEERS_LOST_STORE,
            "the heartbeat store is lost while peers still reach it: this host is the problem "
            "and its VMs are better restarted elsewhere",
            says_fenced_on="bus",
        ),
        (False, True): Row(
            StaysOnlyIf.GLOBAL_BUS_OUTAGE,
            "the bus quorum is lost while another host may hold it",
            says_fenced_on="slot",
        ),
        (False, False): Row(
            StaysOnlyIf.NEVER, "neither the bus quorum nor the heartbeat store is reachable"
        ),
    }
)


def condition_holds(condition: StaysOnlyIf, facts: Facts) -> bool:
    if condition is StaysOnlyIf.ALWAYS:
        return True
    if condition is StaysOnlyIf.PEERS_LOST_STORE:
        return facts.peers_lost_store
    if condition is StaysOnlyIf.GLOBAL_BUS_OUTAGE:
        return facts.global_bus_outage
    return False


def decide(facts: Facts, table: Mapping[tuple[bool, bool], Row] = FENCE_TABLE) -> Verdict:
    """Stay or fence. `table` is a parameter only so that the simulator can prove it catches a
    deliberately broken table; the services always use FENCE_TABLE."""
    row = table[(facts.lease_ok, facts.store_ok)]
    return Verdict(condition_holds(row.stays_only_if, facts), row)
