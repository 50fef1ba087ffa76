"""`haplan host status|evacuate|enable`: one host of the running pool.

`host status` puts side by side what the host's collector says about itself (its newest
HostReport, on `ha.status.<host>`: phase, lease and store, why it is not in the liveset) and
what the pool records about it (the leader's status, else the event log). Either may be
missing: a host whose collector is down is exactly one an operator looks at.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated, Any

import typer

from schemas.ops import HostEnable, HostEvacuate, HostPowerOn
from services.cli.app import app
from services.cli.events import JsonFlag, NatsServers, bus_settings
from services.cli.ops import STATUS_TIMEOUT_S, Silent, ask, bus, run_op, warn
from services.cli.output import console, emit_json, fail
from services.cli.xe_params import build, named

if TYPE_CHECKING:
    from nats.aio.client import Client

    from schemas.reports import HostReport
    from services.common.settings import BusSettings

host_app = typer.Typer(
    help="A host of the running pool: its status, maintenance (evacuate, enable).",
    no_args_is_help=True,
)
app.add_typer(host_app, name="host")

HostArg = Annotated[str, typer.Argument(metavar="HOST", help="A host of the pool.")]

# Why a host the log knows is not in the liveset, when its collector does not say.
LOG_REASONS = {
    "joining": "it has not joined the liveset yet",
    "fenced": "it fenced itself; it rejoins once its collector restarts and reaches "
    "the store and the bus",
    "dead": "the arbiter declared it dead; it rejoins when its collector starts again",
    "excluded": "it is in maintenance: no VMs are placed on it until `haplan host enable`",
}


def in_liveset(entry: dict[str, Any]) -> bool:
    """The leader says (its liveset needs current leases); the log alone implies it."""
    implied = entry.get("state") == "live" and not entry.get("suspected")
    return bool(entry.get("in_liveset", implied))


def reason_not_in_liveset(entry: dict[str, Any], report: HostReport | None) -> str | None:
    """The collector's own reason first (it knows what it cannot reach), else the log's."""
    if report is not None and report.reason:
        return report.reason
    if in_liveset(entry):
        return None
    if entry.get("state") == "live":
        if entry.get("suspected"):
            return "suspected: its lease renewals stopped reaching the arbiter"
        return "the arbiter leader does not count its lease as current"
    return LOG_REASONS.get(str(entry.get("state")), f"its state is {entry.get('state')}")


def find_host(status: dict[str, Any], host: str) -> dict[str, Any]:
    """HOST's entry in a status object; an unknown host is bad input (exit 2)."""
    entry = next((h for h in status.get("hosts", []) if h.get("name") == host), None)
    if entry is None:
        hosts = ", ".join(str(h.get("name")) for h in status.get("hosts", []))
        fail(f"no host named {host!r} in pool {status.get('pool')!r}", f"its hosts: {hosts}")
    return dict(entry)


def host_view(status: dict[str, Any], host: str, report: HostReport | None) -> dict[str, Any]:
    """The `host status --json` object (pure). `status` is `haplan status --json`'s."""
    entry = find_host(status, host)
    return {
        "host": host,
        "pool": status.get("pool"),
        "leader": status.get("leader"),
        "state": entry.get("state"),
        "in_liveset": in_liveset(entry),
        "suspected": bool(entry.get("suspected", False)),
        "incarnation": report.incarnation if report is not None else entry.get("incarnation"),
        "reason": reason_not_in_liveset(entry, report),
        "collector": report is not None,
        "phase": report.phase if report is not None else None,
        "lease_ok": report.lease_ok if report is not None else None,
        "store_ok": report.store_ok if report is not None else None,
        "instances": [{"vm": r.vm, "instance": r.instance} for r in report.vms] if report else [],
        "vms": [str(v["name"]) for v in status.get("vms", []) if v.get("host") == host],
    }


async def collector_report(nc: Client, host: str) -> HostReport | None:
    """The collector's newest HostReport; None when no collector answers or it is unreadable."""
    from schemas.reports import HostReport
    from services.common.wire import Malformed, decode, status_subject

    try:
        msg = await ask(nc, status_subject(host), b"", STATUS_TIMEOUT_S)
        return decode(HostReport, msg.data)
    except Silent:
        return None
    except Malformed as exc:
        warn(f"{host}'s collector answered: {exc}")
        return None


async def _host_status(settings: BusSettings, host: str, show_progress: bool) -> dict[str, Any]:
    from services.cli.status import current_status

    async with bus(settings) as nc:
        status = await current_status(nc, settings, show_progress)
        find_host(status, host)  # an unknown host is refused before its collector is asked
        report = await collector_report(nc, host)
    return host_view(status, host, report)


@host_app.command("status")
def status(host: HostArg, as_json: JsonFlag = False, nats: NatsServers = None) -> None:
    """HOST's phase, liveset membership, lease and store, its VMs, and why it is not in the
    liveset (e.g. its heartbeat store is not reachable)."""
    from services.cli.operator_tables import host_status_view
    from services.cli.status import warn_no_leader

    host = named("host", host)
    settings = bus_settings(nats)
    view = asyncio.run(_host_status(settings, host, show_progress=not as_json))
    if view["leader"] is None:
        warn_no_leader()
    if not view["collector"]:
        warn(f"no collector answers for {host}")
    if as_json:
        emit_json(view)
        return
    for item in host_status_view(view):
        console.print(item)


@host_app.command("evacuate")
def evacuate(host: HostArg, as_json: JsonFlag = False, nats: NatsServers = None) -> None:
    """Maintenance mode: no new VMs on HOST, its VMs moved to others per the evacuation plan
    (refused when that would break the plan, unless the pool allows overcommit)."""
    run_op(build(HostEvacuate, host=named("host", host)), nats, as_json)


@host_app.command("enable")
def enable(host: HostArg, as_json: JsonFlag = False, nats: NatsServers = None) -> None:
    """Take HOST out of maintenance: it may receive VMs again."""
    run_op(build(HostEnable, host=named("host", host)), nats, as_json)


@host_app.command("power-on")
def power_on(host: HostArg, as_json: JsonFlag = False, nats: NatsServers = None) -> None:
    """Power HOST on through its BMCs (its fencing chain): after a power-off by HA, only the
    operator brings a host back; it then joins as a new incarnation."""
    run_op(build(HostPowerOn, host=named("host", host)), nats, as_json)
