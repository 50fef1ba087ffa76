"""The collector: one per host; heartbeats, lease, heartbeat store, self-fencing.

`Collector` is the pure decision core (no IO, no clock); THE TABLE is `FENCE_TABLE`.
"""

from services.collector.core import WATCHDOG_FIRED, Collector, Phase, Tick
from services.collector.slots import SlotBook, SlotTrack
from services.collector.table import FENCE_TABLE, Facts, Row, StaysOnlyIf, Verdict, decide

__all__ = [
    "FENCE_TABLE",
    "WATCHDOG_FIRED",
    "Collector",
    "Facts",
    "Phase",
    "Row",
    "SlotBook",
    "SlotTrack",
    "StaysOnlyIf",
    "Tick",
    "Verdict",
    "decide",
]
