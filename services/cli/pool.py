"""`haplan pool create|export`: the pool file into the event log, and back out of it; and the
xe-like HA verbs of the running pool (services.cli.pool_ha), registered on the same group.

The event store (and NATS with it) is imported by the command that appends, not at startup.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from schemas import HAConfig, Pool, PoolError, dump_pool, load_pool
from schemas.events import PoolCreated
from services.cli import pool_ha
from services.cli.app import app
from services.cli.events import JsonFlag, NatsServers, bus_settings, event_store, replay
from services.cli.output import console, emit_json, emit_text, fail
from services.state import PoolState, to_pool

if TYPE_CHECKING:
    from services.common.settings import BusSettings

pool_app = typer.Typer(
    help="The pool: load a pool file into the event log, export it back; HA on or off, "
    "its parameters, and max host failures live.",
    no_args_is_help=True,
)
app.add_typer(pool_app, name="pool")

FORMATS = ("yaml", "json")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _differences(recorded: Pool, loaded: Pool) -> list[str]:
    """What differs, HA settings one by one with both values: "differs in: ha" alone sent
    operators looking through the whole file for what `haplan up --timeout` had set."""
    out: list[str] = []
    for key in ("name", "ha", "hosts", "vms"):
        if getattr(recorded, key) == getattr(loaded, key):
            continue
        if key != "ha":
            out.append(key)
            continue
        for field in HAConfig.model_fields:
            logged, filed = getattr(recorded.ha, field), getattr(loaded.ha, field)
            if logged != filed:
                out.append(f"ha.{field} ({logged!r} in the log, {filed!r} in the file)")
    return out


def _refusal_hint(differ: list[str]) -> str:
    hint = "see it with `haplan pool export`, or point --nats / NATS_URL at an empty event log"
    if any(d.startswith("ha.timeout_s ") for d in differ):
        # The usual way in: the lab file against `haplan up`, which runs the lab demo at 5 s.
        hint = (
            "`haplan up` sets ha.timeout_s from its --timeout (5 for the lab demo without a "
            "pool file); start it as `haplan up POOL` to keep the file's; or " + hint
        )
    return hint


def _same_pool(state: PoolState, pool: Pool) -> bool:
    """Loading again what was loaded (or what an export of the log gives) changes nothing."""
    if state.origin is not None and _keys_as_filed(state.origin, pool) == pool:
        return True
    try:
        return _keys_as_filed(to_pool(state), pool) == pool
    except PoolError:
        return False


def _keys_as_filed(recorded: Pool, loaded: Pool) -> Pool:
    """`recorded` without the host keys `loaded` does not give: a key is registered after the
    file was written (`haplan up` makes one per host and loads the pool with them; `haplan
    host trust` adds one), so a file without keys is the same pool. A key the file does give
    must match."""
    unkeyed = {h.name for h in loaded.hosts if h.key is None}
    hosts = tuple(
        h.model_copy(update={"key": None}) if h.name in unkeyed else h for h in recorded.hosts
    )
    return recorded.model_copy(update={"hosts": hosts})


async def _create(settings: BusSettings, pool: Pool, source: str, progress: bool) -> dict[str, Any]:
    from services.common.eventstore import ConcurrencyConflict

    async with event_store(settings) as store:
        # Two operators may load at once: the loser of the append re-reads and compares.
        for _ in range(5):
            rebuilt = await replay(store, show_progress=progress)
            state = rebuilt.state
            if state.exists:
                if _same_pool(state, pool):
                    return {"pool": state.name, "created": False, "seq": rebuilt.last_seq}
                assert state.origin is not None
                differ = _differences(_keys_as_filed(state.origin, pool), pool)
                fail(
                    f"the event log already holds pool {state.name!r}, which differs from "
                    f"{source} in: {', '.join(differ) or 'the current state'}",
                    _refusal_hint(differ),
                )
            event = PoolCreated(
                event_id=str(uuid.uuid4()), at=datetime.now(UTC), epoch=0, pool=pool
            )
            try:
                seq = await store.append([event], rebuilt.last_seq)
            except ConcurrencyConflict:
                continue
            return {"pool": pool.name, "created": True, "seq": seq}
        fail("the event log kept changing while loading the pool", "try again")


@pool_app.command("create")
def create(
    pool_file: Annotated[
        Path, typer.Argument(help="Pool file (YAML or JSON, spec/pool-format.md).")
    ],
    as_json: JsonFlag = False,
    nats: NatsServers = None,
) -> None:
    """Load a pool file into the event log.

    Loading the same pool again is a no-op; a different pool over an existing one is refused.
    """
    pool = load_pool(pool_file)
    settings = bus_settings(nats)
    result = asyncio.run(_create(settings, pool, str(pool_file), progress=not as_json))
    result.update(hosts=len(pool.hosts), vms=len(pool.vms))
    if as_json:
        emit_json(result)
    elif result["created"]:
        console.print(
            f"Pool [bold]{pool.name}[/bold] loaded into the event log (sequence {result['seq']}): "
            f"{_count(len(pool.hosts), 'host')}, {_count(len(pool.vms), 'VM')}.",
            soft_wrap=True,
        )
    else:
        console.print(
            f"Pool [bold]{pool.name}[/bold] is already in the event log: nothing to do.",
            soft_wrap=True,
        )


async def _export(settings: BusSettings, progress: bool) -> tuple[Pool, int]:
    async with event_store(settings) as store:
        rebuilt = await replay(store, show_progress=progress)
    return to_pool(rebuilt.state), rebuilt.last_seq


@pool_app.command("export")
def export(
    file: Annotated[
        Path | None, typer.Argument(help="Write here instead of standard output.")
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="yaml or json (default: from FILE's extension, else yaml)."),
    ] = None,
    as_json: JsonFlag = False,
    nats: NatsServers = None,
) -> None:
    """Write the pool as the event log describes it now, as a pool file."""
    if fmt is not None and fmt not in FORMATS:
        fail(f"unknown format {fmt!r}", "use --format yaml or --format json")
    if fmt is None:
        fmt = (
            "json"
            if (file is not None and file.suffix == ".json") or (file is None and as_json)
            else "yaml"
        )
    settings = bus_settings(nats)
    pool, seq = asyncio.run(_export(settings, progress=file is not None and not as_json))
    text = dump_pool(pool, fmt)
    emit_text(text, file, "the pool file")
    if file is None:
        return
    if as_json:
        emit_json({"pool": pool.name, "file": str(file), "format": fmt, "seq": seq})
    else:
        console.print(
            f"Pool [bold]{pool.name}[/bold] (log sequence {seq}) written to {file}.",
            soft_wrap=True,
        )


# The running pool's HA verbs, after create and export in the help.
pool_app.command("ha-enable")(pool_ha.ha_enable)
pool_app.command("ha-disable")(pool_ha.ha_disable)
pool_app.command("set")(pool_ha.set_params)
pool_app.command("compute-max-failures")(pool_ha.compute_max_failures)
