"""`haplan deploy nats-auth HOST...`, `haplan deploy health` and `haplan deploy keys`: what a
deployment needs from haplan itself (README, Deploying on real hosts, Running the compose
stack)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from services.cli.app import app
from services.cli.events import JsonFlag
from services.cli.output import console, emit_json, emit_text, fail

deploy_app = typer.Typer(
    help="Deployment helpers: NATS users and permissions for a pool, container healthchecks, "
    "host signing keys.",
    no_args_is_help=True,
)
app.add_typer(deploy_app, name="deploy")

HEALTH_URL = "HAPLAN_HEALTH_URL"
DEFAULT_HEALTH_URL = "http://127.0.0.1:9100/metrics"


@deploy_app.command("nats-auth")
def nats_auth(
    hosts: Annotated[list[str], typer.Argument(metavar="HOST...", help="The pool's hosts.")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write here (default: standard output)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """The `authorization` block of nats-server's configuration for a pool with these hosts:
    one user per role and one per host's collector, each with its subject permissions;
    passwords are read from the environment variables it names."""
    from services.deploy.natsconf import render_auth

    if any(not h.strip() for h in hosts):
        fail("a host name is empty", "give the pool's host names")
    try:
        text = render_auth(hosts)
    except ValueError as exc:
        fail(str(exc), "rename one of the hosts")
    if not as_json:
        emit_text(text, output, "the NATS authorization")
        return
    # --json: what was made, for a provisioning script; the block itself unless it went to -o.
    answer: dict[str, object] = {"hosts": hosts}
    if output is None:
        answer["authorization"] = text
    else:
        emit_text(text, output, "the NATS authorization")
        answer["file"] = str(output)
    emit_json(answer)


@deploy_app.command("health")
def health(
    url: Annotated[
        str | None,
        typer.Argument(help=f"What to ask (default: ${HEALTH_URL}, else {DEFAULT_HEALTH_URL})."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Exit 0 when URL answers 200 within 3 s, else 1: a container healthcheck for a
    service's metrics endpoint or a NATS node's /healthz."""
    from services.deploy.health import healthy

    target = url or os.environ.get(HEALTH_URL) or DEFAULT_HEALTH_URL
    problem = healthy(target)
    if as_json:
        emit_json({"url": target, "healthy": problem is None, "problem": problem})
    elif problem is not None:
        console.print(f"unhealthy: {problem}", soft_wrap=True)
    if problem is not None:
        raise typer.Exit(1)


@deploy_app.command("keys")
def keys(
    pool_file: Annotated[Path, typer.Argument(metavar="POOL", help="The pool file.")],
    host_dirs: Annotated[
        list[str],
        typer.Argument(metavar="HOST=DIR...", help="Each host's own key directory."),
    ],
    pool_out: Annotated[
        Path,
        typer.Option("--pool-out", metavar="FILE", help="Write the pool with the keys here."),
    ],
    owner: Annotated[
        str | None,
        typer.Option("--owner", metavar="UID[:GID]", help="Hand each key and directory over."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """A signing key per HOST in DIR/host.key (directory 0700, key 0600; a key already there
    is kept), and POOL with those public keys registered written to FILE, for `pool create`:
    the compose stack's one-shot `keys` service. Give each host's collector its DIR only."""
    from schemas import PoolError, dump_pool, load_pool
    from services.deploy.keys import (
        KeySetupError,
        ensure_host_keys,
        parse_host_dir,
        parse_owner,
        write_pool_text,
    )

    try:
        pool = load_pool(pool_file)
        dirs = dict(parse_host_dir(t) for t in host_dirs)
        keyed, outcomes = ensure_host_keys(pool, dirs, parse_owner(owner) if owner else None)
    except (PoolError, KeySetupError) as exc:
        fail(str(exc))
    try:
        write_pool_text(pool_out, dump_pool(keyed))
    except OSError as exc:
        fail(f"{pool_out}: cannot write the pool: {exc.strerror or exc}")
    if as_json:
        emit_json([
            {"host": o.host, "key": o.key, "file": str(o.path), "made": o.made}
            for o in outcomes
        ])  # fmt: skip
        return
    for o in outcomes:
        console.print(f"{o.host} {o.key} {'made' if o.made else 'kept'} {o.path}",
                      highlight=False, soft_wrap=True)  # fmt: skip


@deploy_app.command("certs")
def certs(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="Where to write them.")],
    names: Annotated[
        list[str], typer.Argument(metavar="NAME...", help="The NATS nodes' names.")
    ],
    owner: Annotated[
        str | None,
        typer.Option("--owner", metavar="UID[:GID]", help="Hand the files over."),
    ] = None,
) -> None:
    """TLS for the NATS nodes: DIR/ca.pem, DIR/server.pem (naming every NAME, localhost and
    127.0.0.1) and DIR/server-key.pem (0600), as deploy/nats/haplan-tls.conf reads them; kept
    when already there. The compose stack's TLS profile runs it as its `certs` service."""
    from datetime import UTC, datetime

    from services.deploy.certs import make_certs
    from services.deploy.keys import KeySetupError, parse_owner

    try:
        made = make_certs(directory, names, datetime.now(UTC),
                          parse_owner(owner) if owner else None)  # fmt: skip
    except KeySetupError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{directory}: cannot write the certificates: {exc.strerror or exc}")
    console.print(f"{directory}: {'made' if made else 'kept'} ca.pem, server.pem, server-key.pem",
                  highlight=False, soft_wrap=True)  # fmt: skip
