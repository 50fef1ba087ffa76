"""`haplan events`: the event log, as a table on a TTY or JSON lines for scripts.

Also the bus plumbing the log commands share (settings, opening the store, replaying with a
progress bar), used by `haplan pool` and `haplan audit`.

Every `haplan` command imports this module: the NATS client, the event store and the
settings are imported where they are used, so that commands that never touch the bus start
without them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.table import Table

from services.cli.app import app
from services.cli.output import UserError, console, err_console

if TYPE_CHECKING:
    from nats.aio.client import Client

    from services.common.eventstore import JetStreamEventStore, Recorded
    from services.common.replay import Rebuilt
    from services.common.settings import BusSettings

# sysexits EX_UNAVAILABLE: the bus is down, as opposed to bad input (2).
EXIT_NATS_UNAVAILABLE = 69
# sysexits EX_NOPERM: NATS answered but refuses our credentials or TLS: retrying won't help.
EXIT_NATS_REFUSED = 77
# Replays shorter than this finish before a progress bar would be worth drawing.
PROGRESS_FROM = 20_000
# Between two attempts to open the event log while JetStream does not answer yet.
OPEN_RETRY_S = 1.0

NatsServers = Annotated[
    str | None,
    typer.Option(
        "--nats", help="NATS servers, comma-separated (default: $NATS_URL or 127.0.0.1:4222)."
    ),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
# The collector's and the arbiter's: both check their --store the same way (store_root).
StoreLocal = Annotated[
    bool,
    typer.Option(
        "--store-local",
        help="The store is a plain directory of this machine, not a mount point: a demo "
        "or a test on one machine (haplan up), never a pool of real hosts.",
    ),
]


class NatsUnreachable(UserError):
    exit_code = EXIT_NATS_UNAVAILABLE


class NatsRefused(UserError):
    """NATS refused this process's credentials or TLS (the message says what to check)."""

    exit_code = EXIT_NATS_REFUSED


REFUSED_HINT = "see README, Deploying on real hosts: credentials"
PERMISSION_HINT = (
    "use the credentials of a role allowed to do this (HAPLAN_NATS_USER; README, the "
    "permission model)"
)


def bus_settings(nats: str | None) -> BusSettings:
    """Settings from the environment, `--nats` overriding NATS_URL; one-line errors.

    With neither, a live `haplan up` of this user is the server, and its operator user who
    we are there (services.cli.discovery); the default server when none runs.
    """
    from services.cli.discovery import up_bus
    from services.common.settings import BusSettings
    from services.up.credentials import CredentialError

    try:
        found = up_bus() if nats is None else None
    except CredentialError as exc:
        raise UserError(str(exc), "restart haplan up, or give NATS_URL and credentials") from None
    try:
        if found is not None:
            # up's server, as up's operator: the shell's credentials are for other servers.
            who = found.operator
            return BusSettings.private(found.nats_url, who.user, who.password)
        return BusSettings() if nats is None else BusSettings(nats_url=nats)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field = str(err["loc"][0]) if err["loc"] else "nats_url"
        where = (
            "NATS_URL"
            if field.lower() in ("nats_url", "haplan_nats_url")
            else f"HAPLAN_{field.upper()}"
        )
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise UserError(f"invalid {where}: {msg}", f"fix --nats or {where}") from None


@contextlib.asynccontextmanager
async def event_store(settings: BusSettings) -> AsyncIterator[JetStreamEventStore]:
    """The event log on the bus, for one command; unreachable NATS is a one-line error."""
    from services.common.bus import BusRefused, BusUnavailable, connect, refused
    from services.common.eventstore import EventStoreError, EventStoreUnavailable
    from services.common.logging import configure_logging
    from services.common.payload import MessageTooLarge

    # Commands log warnings only (e.g. unreadable events), as JSON lines when piped.
    configure_logging("warning")
    began = time.monotonic()
    try:
        nc = await connect(
            settings, name="haplan-cli", initial_timeout_s=settings.connect_timeout_s
        )
    except BusRefused as exc:
        raise NatsRefused(str(exc), REFUSED_HINT) from None
    except BusUnavailable as exc:
        raise NatsUnreachable(
            str(exc), "start it with `haplan up`, or point NATS_URL / --nats at a NATS server"
        ) from None
    try:
        yield await _open_when_answering(nc, settings, until=began + settings.connect_timeout_s)
    except MessageTooLarge as exc:
        # Bad input, not an outage: "check JetStream" sent operators the wrong way.
        raise UserError(str(exc), "see docs/protocol.md, Large events") from None
    except EventStoreError as exc:
        # A request the server refused this user looks like one JetStream never answered.
        denied = refused(nc)
        if denied is not None:
            raise NatsRefused(f"NATS refused this user: {denied}", PERMISSION_HINT) from None
        if isinstance(exc, EventStoreUnavailable):
            raise NatsUnreachable(str(exc), "check that NATS runs with JetStream enabled") from None
        raise UserError(str(exc)) from None
    finally:
        await nc.close()


async def _open_when_answering(
    nc: Client, settings: BusSettings, *, until: float
) -> JetStreamEventStore:
    """The event store, once JetStream answers. A command started with its cluster (a
    deployment's one-shot `pool create`) finds servers that accept connections but have no
    JetStream meta leader yet, or fewer peers than the stream's replicas: it asks again until
    HAPLAN_CONNECT_TIMEOUT_S has passed since it began, as it waits for NATS itself. With the
    default 2 s the first unanswered request (request timeout 5 s) is the answer, as before.
    A refusal of this user is never waited on."""
    from services.common.bus import refused
    from services.common.eventstore import EventStoreUnavailable, JetStreamEventStore

    while True:
        try:
            return await JetStreamEventStore.open(
                nc, replicas=settings.stream_replicas, request_timeout_s=settings.request_timeout_s
            )
        except EventStoreUnavailable:
            if refused(nc) is not None or time.monotonic() >= until:
                raise
            await asyncio.sleep(OPEN_RETRY_S)


async def replay(store: JetStreamEventStore, *, show_progress: bool) -> Rebuilt:
    """The pool state from the whole log, with a progress bar on a TTY for long logs."""
    from services.common.replay import rebuild_state

    total = await store.last_seq()
    if not (show_progress and total >= PROGRESS_FROM and console.is_terminal):
        return await rebuild_state(store)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("replaying the event log"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("replay", total=total)
        return await rebuild_state(
            store, on_progress=lambda seq: progress.update(task, completed=seq)
        )


def report_unreadable(store: JetStreamEventStore) -> None:
    if store.malformed:
        err_console.print(
            f"[yellow]{store.malformed} unreadable message(s) skipped "
            "(each logged above with its sequence)[/yellow]"
        )


def event_json(recorded: Recorded) -> dict[str, Any]:
    return {"seq": recorded.seq, **recorded.event.model_dump(mode="json")}


def _line(recorded: Recorded) -> str:
    e = recorded.event
    return f"{recorded.seq:>7}  {e.at:%Y-%m-%d %H:%M:%S}  {e.epoch:>5}  {e.type:<22}  {e.summary()}"


def _table(rows: list[Recorded]) -> Table:
    table = Table(title="Event log", title_justify="left")
    table.add_column("seq", justify="right")
    table.add_column("at (UTC)")
    table.add_column("epoch", justify="right")
    table.add_column("event")
    table.add_column("what happened")
    for r in rows:
        e = r.event
        table.add_row(str(r.seq), f"{e.at:%Y-%m-%d %H:%M:%S}", str(e.epoch), e.type, e.summary())
    return table


async def _print_events(settings: BusSettings, since: int, follow: bool, as_json: bool) -> None:
    async with event_store(settings) as store:
        if as_json:
            reader = store.follow(since) if follow else store.read(since)
            async for recorded in reader:
                sys.stdout.write(json.dumps(event_json(recorded)) + "\n")
                if follow:
                    sys.stdout.flush()
        elif follow:
            async for recorded in store.follow(since):
                console.print(_line(recorded), markup=False, highlight=False)
        else:
            rows = [r async for r in store.read(since)]
            if rows:
                console.print(_table(rows))
            else:
                console.print(
                    "The event log holds no events" + (f" from {since}" if since > 1 else "")
                )
        report_unreadable(store)


@app.command("events")
def events(
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new events until Ctrl-C.")
    ] = False,
    since: Annotated[int, typer.Option("--since", min=1, help="Start at this sequence.")] = 1,
    as_json: JsonFlag = False,
    nats: NatsServers = None,
) -> None:
    """Print the event log: one JSON object per line with --json (seq, then the event)."""
    settings = bus_settings(nats)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_print_events(settings, since, follow, as_json))
