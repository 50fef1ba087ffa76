"""`haplan status`: the pool as the arbiter leader sees it, or as the event log has it when no
arbiter leads.

The leader knows what the log cannot (which hosts' leases are current: its liveset), so it is
asked first (`ha.op.status`). With no leader the command still answers from the log, with
`"leader": null`, because "no arbiter leads" is exactly when an operator needs to look.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from services.cli.app import app
from services.cli.events import JsonFlag, NatsServers, bus_settings
from services.cli.ops import STATUS_TIMEOUT_S, Refused, Silent, ask, bus, warn
from services.cli.output import UserError, console, emit_json, fail
from services.common.payload import TOO_LARGE, TOO_LARGE_HINT
from services.common.wire import OP_STATUS

if TYPE_CHECKING:
    from nats.aio.client import Client

    from services.common.settings import BusSettings
    from services.state import PoolState


def log_status(state: PoolState) -> dict[str, Any]:
    """The status object from the folded log alone: no leader, host states and liveset as the
    log records them (pure)."""
    from services.arbiter.status import status_of

    if not state.exists:
        fail(
            "the event log holds no pool yet",
            "load one with `haplan pool create POOL`, or run `haplan up`",
        )
    answer = status_of(state, leader=None, liveset=state.liveset)
    answer.pop("ok", None)
    return answer


async def leader_status(nc: Client) -> dict[str, Any] | None:
    """The leader's answer to `ha.op.status`; None when no arbiter leads."""
    try:
        msg = await ask(nc, OP_STATUS, b"{}", STATUS_TIMEOUT_S)
    except Silent:
        return None
    try:
        answer = json.loads(msg.data)
    except (ValueError, UnicodeDecodeError):
        answer = None
    if not isinstance(answer, dict):
        raise Refused("the leader's status answer is not a JSON object", "see the arbiter's log")
    if answer.pop("ok", True) is not True:
        why = str(answer.get("error") or "the leader refused the status request")
        if answer.get("code") == TOO_LARGE:
            raise UserError(why, TOO_LARGE_HINT)
        raise Refused(why)
    return answer


async def current_status(nc: Client, settings: BusSettings, show_progress: bool) -> dict[str, Any]:
    """The leader's status, else the log's (`leader` null)."""
    answer = await leader_status(nc)
    if answer is not None:
        return answer
    from services.cli.events import event_store, replay, report_unreadable

    async with event_store(settings) as store:
        rebuilt = await replay(store, show_progress=show_progress)
        report_unreadable(store)
    return log_status(rebuilt.state)


async def _status(settings: BusSettings, show_progress: bool) -> dict[str, Any]:
    async with bus(settings) as nc:
        return await current_status(nc, settings, show_progress)


def warn_no_leader() -> None:
    warn(
        "no arbiter leads the pool: showing the event log's view "
        "(start `haplan arbiter` or `haplan up`)"
    )


@app.command("status")
def status(as_json: JsonFlag = False, nats: NatsServers = None) -> None:
    """The pool: HA on or off, host failures to tolerate, hosts and their states, VMs.

    Asks the arbiter leader; when none leads, shows the event log's view and says so on stderr.
    """
    settings = bus_settings(nats)
    answer = asyncio.run(_status(settings, show_progress=not as_json))
    if answer.get("leader") is None:
        warn_no_leader()
    if as_json:
        emit_json(answer)
        return
    from services.cli.operator_tables import status_view  # the tables only: not for --json

    for item in status_view(answer):
        console.print(item)
