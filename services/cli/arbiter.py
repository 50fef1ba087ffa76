"""`haplan arbiter`: run a leader candidate in the foreground until SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from schemas.limits import DEFAULT_MAX_IN_FLIGHT, MAX_IN_FLIGHT_RANGE
from services.cli.app import app
from services.cli.events import (
    REFUSED_HINT,
    NatsRefused,
    NatsServers,
    StoreLocal,
    bus_settings,
)
from services.cli.output import fail

if TYPE_CHECKING:
    from services.arbiter.metrics import ArbiterMetrics
    from services.common.settings import BusSettings
    from services.common.store_root import StoreRoot

# Said once at start by an arbiter given no --store (docs/protocol.md, The leader reads the
# store itself).
NO_STORE_WARNING = (
    "no --store: this arbiter cannot read the heartbeat store itself, so its timeout path "
    "falls back on one collector's reading of a host's slot (the old rule: a single hostile "
    "or broken host can get another declared dead); give it the shared storage with "
    "--store DIR (read-only is enough)"
)


def default_ident() -> str:
    # Unique even for several candidates on one machine, readable in logs and in status.
    return f"{socket.gethostname()}-{uuid.uuid4().hex[:6]}"


@app.command("arbiter")
def arbiter(
    nats: NatsServers = None,
    ident: Annotated[
        str | None,
        typer.Option("--id", help="This candidate's name in logs and status (default: random)."),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option("--metrics-port", help="Serve Prometheus metrics on this port (default off)."),
    ] = None,
    metrics_addr: Annotated[
        str, typer.Option("--metrics-addr", help="Address the metrics server listens on.")
    ] = "127.0.0.1",
    max_in_flight: Annotated[
        int,
        typer.Option(
            "--max-restarts-in-flight",
            help="At most this many VMs ordered and not yet reported at once, pool-wide.",
        ),
    ] = DEFAULT_MAX_IN_FLIGHT,
    store: Annotated[
        Path | None,
        typer.Option(
            "--store",
            metavar="DIR",
            help="This arbiter's mount of the shared storage (read-only is enough): the "
            "leader then judges a host's slot still from its own reading. It must exist and "
            "be a mount point (never created). Without it, a collector's reading decides.",
        ),
    ] = None,
    store_local: StoreLocal = False,
) -> None:
    """A leader candidate: run several anywhere, one leads; standbys take over its lapsed lease.

    Runs until SIGTERM or Ctrl-C, logging JSON lines on stderr.
    """
    settings = bus_settings(nats)
    if ident is not None and not ident.strip():
        fail("--id is empty", "give this arbiter a name, or leave --id out")
    if metrics_port is not None and not 0 < metrics_port < 65536:
        fail(f"--metrics-port {metrics_port} is not a TCP port", "give a port from 1 to 65535")
    low, high = MAX_IN_FLIGHT_RANGE
    if not low <= max_in_flight <= high:
        fail(f"--max-restarts-in-flight {max_in_flight} is out of range", f"give {low} to {high}")
    if store_local and store is None:
        fail("--store-local without --store", "give the store with --store DIR")
    # The service (and NATS with it) is imported here: every `haplan` start imports this module.
    from services.arbiter.metrics import ArbiterMetrics
    from services.common.logging import configure_logging, get_logger
    from services.common.store_root import StoreRefused, open_store

    root = None
    unreachable = None
    if store is not None:
        try:
            # Before NATS: a store that cannot be the shared storage is bad input (exit 2).
            root, unreachable = open_store(store, store_local)
        except StoreRefused as exc:
            fail(str(exc))
    configure_logging("info")
    log = get_logger("haplan.arbiter")
    if root is None:
        log.warning(NO_STORE_WARNING)
    elif unreachable is not None:
        log.warning(
            "the heartbeat store does not answer at start: it counts as unreachable until it does",
            problem=unreachable,
        )
    metrics = ArbiterMetrics()
    if metrics_port is not None:
        try:
            metrics.serve(metrics_port, metrics_addr)
        except OSError as exc:
            fail(
                f"cannot serve metrics on {metrics_addr}:{metrics_port}: {exc.strerror or exc}",
                "pick a free port with --metrics-port",
            )
    asyncio.run(_serve(settings, ident or default_ident(), metrics, max_in_flight, root))


async def _serve(
    settings: BusSettings,
    ident: str,
    metrics: ArbiterMetrics,
    max_in_flight: int,
    store_root: StoreRoot | None,
) -> None:
    from services.arbiter.service import ArbiterService
    from services.common.bus import BusRefused, connect, stop_when_closed
    from services.common.logging import get_logger

    log = get_logger("haplan.arbiter")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("arbiter starting", arbiter=ident, nats=settings.nats_url)
    connecting = asyncio.create_task(
        connect(settings, name=f"haplan-arbiter-{ident}", on_closed=stop_when_closed(stop))
    )
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({connecting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not connecting.done():
        connecting.cancel()  # stopped before NATS ever answered
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await connecting
        return
    stopping.cancel()
    try:
        nc = connecting.result()
    except BusRefused as exc:
        # A supervisor restarting us would only be refused again: say what to fix, once.
        raise NatsRefused(str(exc), REFUSED_HINT) from None
    try:
        service = ArbiterService(
            nc, settings, ident, metrics=metrics, max_in_flight=max_in_flight,
            store_root=store_root,
        )  # fmt: skip
        await service.run(stop)
    finally:
        with contextlib.suppress(Exception):
            await nc.drain()
    log.info("arbiter stopped", arbiter=ident)
