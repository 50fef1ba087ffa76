"""Builders for the collector core's inputs (T = 10 s: interval 1 s, margin 2 s, T_dead 14 s)."""

from __future__ import annotations

from schemas.messages import Beacon, NetworkHeartbeat, StartOrder
from schemas.slot import Slot
from services.collector.core import Collector
from services.common.timers import Timers

TIMERS = Timers.from_timeout(10.0)
HOSTS = ("a", "b", "c")
BEACON = Beacon(leader="arb", term=1, seq=1)


def member(now: float = 0.0, vms: tuple[str, ...] = ()) -> Collector:
    """Host a, incarnation a#1, healthy up to `now`."""
    return Collector.resumed("a", "a#1", HOSTS, TIMERS, now, vms)


def slot(
    host: str, seq: int, *, inc: str | None = None, lease_ok: bool = False, fenced: bool = False
) -> Slot:
    return Slot(
        host=host,
        incarnation=inc or f"{host}#1",
        seq=seq,
        uptime_s=float(seq),
        lease_ok=lease_ok,
        store_ok=True,
        fenced=fenced,
    )


def heartbeat(host: str, *, store_ok: bool, lease_ok: bool = True) -> NetworkHeartbeat:
    return NetworkHeartbeat(
        host=host, incarnation=f"{host}#1", seq=1, lease_ok=lease_ok, store_ok=store_ok
    )


def order(vm: str, incarnation: str = "a#1", host: str = "a") -> StartOrder:
    return StartOrder(order_id=f"o-{vm}", vm=vm, host=host, incarnation=incarnation)


def outage_slots(c: Collector, until: float, *, start: float = 0.0) -> None:
    """Peers b and c write their slots every interval, saying lease_ok = false (as they do in
    an outage of the bus for every host), and `c` reads them, from `start` to `until`."""
    t, seq = start, 1
    while t <= until:
        c.slots_read(t, [slot("b", seq), slot("c", seq)])
        t += TIMERS.interval_s
        seq += 1
