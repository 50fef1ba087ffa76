"""The colour of each host state and VM power state on a terminal, one map for every view:
`haplan status` / `haplan host status` (services.cli.operator_tables) and `haplan up`'s live view
(services.up.view) kept a copy each, and the copies drifted (a dead host red in one, bold red in
the other), so one state looked like two.

Red is for states that need the operator (bold when nothing will recover by itself: a dead host,
a VM down that HA cannot place or has given up on); yellow for a state in motion.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

HOST_STATE_STYLE: Mapping[str, str] = MappingProxyType(
    {
        "live": "green",
        "joining": "yellow",
        "fenced": "red",
        "dead": "bold red",
        "excluded": "magenta",
    }
)
# Host states are services.state.HostLiveness; VM power states services.state.PowerState and
# the status answer's "stopped" (services.arbiter.status: a VM the log says runs, on a fenced or
# dead host, or one its host no longer reports).
POWER_STYLE: Mapping[str, str] = MappingProxyType(
    {
        "running": "green",
        "restarting": "yellow",
        "halted": "dim",
        "unplaceable": "bold red",
        "stopped": "bold red",
        "failed": "bold red",
    }
)
