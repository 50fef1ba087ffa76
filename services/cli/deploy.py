"""`haplan deploy nats-auth HOST...` and `haplan deploy health`: what a deployment needs from
haplan itself (README, Deploying on real hosts)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from services.cli.app import app
from services.cli.events import JsonFlag
from services.cli.output import console, emit_json, emit_text, fail

deploy_app = typer.Typer(
    help="Deployment helpers: NATS users and permissions for a pool, container healthchecks.",
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
