"""`haplan planner`: run one replica of the planner service in the foreground until SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import TYPE_CHECKING, Annotated

import typer

from services.cli.app import app
from services.cli.arbiter import default_ident
from services.cli.events import NatsServers, NatsUnreachable, bus_settings
from services.cli.output import fail
from services.cli.plan_options import planner_limit
from services.common.metrics import DEFAULT_METRICS_ADDR

if TYPE_CHECKING:
    from nats.aio.client import Client

    from services.common.settings import BusSettings
    from services.planner.service.metrics import PlannerMetrics


@app.command("planner")
def planner(
    nats: NatsServers = None,
    ident: Annotated[
        str | None,
        typer.Option("--id", help="This replica's name in logs and $SRV.INFO (default: random)."),
    ] = None,
    metrics_port: Annotated[
        int,
        typer.Option("--metrics-port", min=0, max=65535, help="Prometheus /metrics port (0: off)."),
    ] = 0,
    metrics_addr: Annotated[
        str, typer.Option("--metrics-addr", help="Address the metrics endpoint listens on.")
    ] = DEFAULT_METRICS_ADDR,
    work_limit: Annotated[
        float | None,
        typer.Option(
            "--work-limit",
            metavar="SECONDS",
            help="Work limit of each plan, in deterministic seconds (default: the planner's); "
            "a request may give its own.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """A planner replica: plan, what-if, hypothetical and evacuate over NATS, and the pool's
    plan kept current in the event log.

    Answers the nats.micro service `planner` (replicas share the requests) and records a plan
    whenever the pool changes: run several, exactly one plan per log state is recorded.
    Runs until SIGTERM or Ctrl-C, logging JSON lines on stderr; exits 69 when NATS cannot be
    reached at start.
    """
    settings = bus_settings(nats)
    if ident is not None and not ident.strip():
        fail("--id is empty", "give this replica a name, or leave --id out")
    limit = planner_limit(work_limit).get("work_limit")
    # The service (NATS, the planner, OR-Tools) is imported here: every `haplan` start
    # imports this module.
    from services.common.logging import configure_logging
    from services.common.metrics import MetricsUnavailable, serve_metrics
    from services.planner.service.metrics import PlannerMetrics

    configure_logging("info")
    metrics = PlannerMetrics()
    try:
        serve_metrics(metrics_port, metrics.registry, metrics_addr)
    except MetricsUnavailable as exc:
        fail(str(exc), "pick a free port with --metrics-port")
    asyncio.run(_serve(settings, ident or default_ident(), metrics, limit))


async def _serve(
    settings: BusSettings, ident: str, metrics: PlannerMetrics, work_limit: float | None
) -> None:
    from services.common.logging import get_logger
    from services.planner.service.service import PlannerService

    log = get_logger("haplan.planner")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("planner starting", replica=ident, nats=settings.nats_url)
    nc = await _connect(settings, ident, stop)
    try:
        service = PlannerService(nc, settings, ident, metrics=metrics, work_limit=work_limit)
        await service.run(stop)
    finally:
        with contextlib.suppress(Exception):
            await nc.drain()
    log.info("planner stopped", replica=ident)


async def _connect(settings: BusSettings, ident: str, stop: asyncio.Event) -> Client:
    """Connected, reconnecting for ever afterwards; NatsUnreachable (exit 69) when NATS does
    not answer at start: a planner that never reached the bus is a setup error to report."""
    from services.cli.events import REFUSED_HINT, NatsRefused
    from services.common.bus import BusRefused, BusUnavailable, connect, stop_when_closed

    try:
        return await connect(
            settings,
            name=f"haplan-planner-{ident}",
            on_closed=stop_when_closed(stop),
            initial_timeout_s=settings.connect_timeout_s,
        )
    except BusRefused as exc:
        raise NatsRefused(str(exc), REFUSED_HINT) from None
    except BusUnavailable as exc:
        raise NatsUnreachable(str(exc), "start NATS (or `haplan up`), or fix --nats") from None
