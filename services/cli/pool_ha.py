"""The xe-like HA verbs of `haplan pool` (registered on its group by services.cli.pool):
`ha-enable`, `ha-disable`, `set KEY=VALUE...` through the arbiter leader, and
`compute-max-failures` from the running planner."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from schemas.ops import HADisable, HAEnable
from services.cli.events import JsonFlag, NatsServers, bus_settings
from services.cli.ops import Refused, ask_planner, run_op, waiting
from services.cli.output import console, emit_json
from services.cli.xe_params import pool_set_request

SetParams = Annotated[
    list[str],
    typer.Argument(
        metavar="KEY=VALUE...",
        help="ha-host-failures-to-tolerate=N, ha-allow-overcommit=true|false.",
    ),
]


def ha_enable(as_json: JsonFlag = False, nats: NatsServers = None) -> None:
    """Turn HA on: protected VMs are restarted after host failures (refused while the pool is
    overcommitted, unless it allows overcommit)."""
    run_op(HAEnable(), nats, as_json)


def ha_disable(as_json: JsonFlag = False, nats: NatsServers = None) -> None:
    """Turn HA off: hosts keep heartbeating, nothing is restarted."""
    run_op(HADisable(), nats, as_json)


def set_params(params: SetParams, as_json: JsonFlag = False, nats: NatsServers = None) -> None:
    """Set the pool's HA parameters, as `xe pool-param-set`; several at once are allowed.

    Raising ha-host-failures-to-tolerate above what the pool can tolerate is refused unless
    ha-allow-overcommit=true.
    """
    run_op(pool_set_request(params), nats, as_json)


def compute_max_failures(as_json: JsonFlag = False, nats: NatsServers = None) -> None:
    """How many host failures the live pool tolerates, from the running planner (as
    `haplan plan --json` prints it for a pool file)."""
    from services.cli.operator_tables import plan_view

    settings = bus_settings(nats)
    with waiting("the planner is computing max host failures", show=not as_json):
        answer = asyncio.run(ask_planner(settings, "plan", {}))
    if as_json:
        emit_json(answer)
        return
    try:
        view = plan_view(answer)
    except (KeyError, TypeError, ValueError) as exc:
        raise Refused(
            f"the planner's answer is not a plan ({type(exc).__name__}: {exc})",
            "check that the planner and this haplan are the same version",
        ) from None
    for item in view:
        console.print(item)
