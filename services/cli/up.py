"""`haplan up [POOL]`: the embedded pool on this machine, live, until Ctrl-C (DESIGN.md,
Running it; docs/operations.md for the runtime file other commands find it by)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

import schemas
from schemas import Pool, load_pool
from services.cli.app import app
from services.cli.output import UserError, console, fail

LAB_POOL = Path(schemas.__file__).parent / "examples" / "lab.yaml"
# The lab file says 30 s, XenServer's default: a newcomer would wait about 40 s for each
# failover. So `haplan up` with no pool file (the lab demo) runs with 5 s: a failover in
# under 10 s (T_dead = T + 4 intervals = 7 s), still ten heartbeat intervals of 0.5 s, so a
# laptop busy starting Python processes or pausing for a garbage collection does not fence a
# healthy host. A pool file given on the command line keeps its own ha.timeout_s: it is what
# the operator wrote, and what `haplan pool create` of the same file compares with.
UP_TIMEOUT_S = 5.0
MIN_TIMEOUT_S = 1.0


class StartFailed(UserError):
    """The pool could not be started (not bad input: the machine said no)."""

    exit_code = 1


def with_timeout(pool: Pool, timeout_s: float) -> Pool:
    data = pool.model_dump(mode="json")
    data["ha"]["timeout_s"] = timeout_s
    return Pool.model_validate(data)


@app.command("up")
def up(
    pool_file: Annotated[
        Path | None,
        typer.Argument(
            metavar="POOL", help="Pool file (default: the article's lab: lab1, lab2, Minion 1)."
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            metavar="S",
            help="HA timeout T in seconds, instead of the pool file's ha.timeout_s (without a "
            f"pool file, the lab demo runs with {UP_TIMEOUT_S:g}: a failover in seconds).",
            show_default=False,
        ),
    ] = None,
    json_log: Annotated[
        bool,
        typer.Option(
            "--json-log",
            help="No live view: one JSON object per line on stdout for every event of the log "
            "and every action of up's own (starts, exits, restarts, faults).",
        ),
    ] = False,
) -> None:
    """Run a whole pool here: a private nats-server, one collector per host, an arbiter and
    a planner, shown live. Pull cables from another terminal with `haplan fault`; Ctrl-C
    stops everything it started."""
    if timeout is not None and not MIN_TIMEOUT_S <= timeout < float("inf"):
        fail(
            f"--timeout {timeout:g} is not a number of seconds from {MIN_TIMEOUT_S:g} up "
            "(heartbeats go every T/10: below that, a busy machine fences healthy hosts)",
            "try --timeout 5",
        )
    pool = load_pool(pool_file or LAB_POOL)
    if timeout is None and pool_file is None:
        timeout = UP_TIMEOUT_S
    if timeout is not None:
        pool = with_timeout(pool, timeout)
    elif pool.ha.timeout_s < MIN_TIMEOUT_S:
        fail(
            f"{pool_file}: ha.timeout_s {pool.ha.timeout_s:g} is below {MIN_TIMEOUT_S:g} s, "
            "too short for `haplan up` (heartbeats go every T/10: a busy machine would fence "
            "healthy hosts)",
            "raise it in the file, or give --timeout 5",
        )
    # Imported here: every `haplan` start imports this module, and these load NATS.
    from services.up.runtime import default_runtime_dir
    from services.up.session import Mode, UpFailed, UpOptions, run_up
    from services.up.topology import RuntimeDirError

    mode: Mode = "json" if json_log else ("live" if console.is_terminal else "lines")
    options = UpOptions(pool, str(pool_file or "the lab pool"), default_runtime_dir(), mode)
    try:
        status = asyncio.run(run_up(options, console))
    except RuntimeDirError as exc:
        fail(str(exc))
    except UpFailed as exc:
        raise StartFailed(str(exc), f"its logs are in {options.runtime_dir / 'logs'}") from None
    raise typer.Exit(status)
