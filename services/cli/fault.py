"""`haplan fault power|storage|network|hang HOST` and `haplan fault heal HOST`: pull and re-plug
a host's cables in the pool `haplan up` runs, without root (services.up.machine says how).

Finds `up` through its runtime file and talks to it over its control socket.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from services.cli.app import app
from services.cli.events import EXIT_NATS_UNAVAILABLE, JsonFlag
from services.cli.output import UserError, console, emit_json

fault_app = typer.Typer(
    help="Pull and re-plug a host's cables in the pool `haplan up` runs (no root needed).",
    no_args_is_help=True,
)
app.add_typer(fault_app, name="fault")

Host = Annotated[str, typer.Argument(metavar="HOST", help="A host of the pool.")]


class NoUp(UserError):
    exit_code = EXIT_NATS_UNAVAILABLE


class Conflict(UserError):
    exit_code = 1


def _send(fault: str, host: str) -> dict[str, Any]:
    # Imported here: stdlib only, but no need to load them for every command.
    from services.cli.discovery import live_up, runtime_dir
    from services.up.control import ControlUnavailable, request

    start = "start one with `haplan up` in another terminal"
    record = live_up()
    if record is None:
        raise NoUp(f"no haplan up is running (nothing live in {runtime_dir()})", start)
    try:
        reply = request(Path(record.control), {"fault": fault, "host": host})
    except ControlUnavailable as exc:
        raise NoUp(f"haplan up (pid {record.pid}) does not answer: {exc}", start) from None
    if not isinstance(reply, dict):
        raise NoUp(f"haplan up (pid {record.pid}) gave an unreadable answer", start)
    if not reply.get("ok"):
        error = UserError if reply.get("code") == "invalid" else Conflict
        raise error(str(reply.get("error")), reply.get("hint"))
    return reply


def _say(reply: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json({k: v for k, v in reply.items() if k != "ok"})
        return
    host, fault = reply["host"], reply["fault"]
    pulled = ", ".join(reply["pulled"]) or "none"
    if fault == "heal":
        healed = ", ".join(reply["healed"])
        what = f"healed ({healed})" if healed else "nothing was pulled"
    else:
        what = f"{fault} pulled" if reply["changed"] else f"{fault} was already pulled"
    console.print(f"[bold]{host}[/bold]: {what}; cables pulled now: {pulled}", soft_wrap=True)


def _command(fault: str, doc: str) -> None:
    def command(host: Host, as_json: JsonFlag = False) -> None:
        _say(_send(fault, host), as_json)

    command.__doc__ = doc
    fault_app.command(fault)(command)


_command("power", "Pull the power: kill the host's collector, watchdog and VMs; keep it off.")
_command("storage", "Pull the storage cable: every read and write of the host's store fails.")
_command("network", "Pull the network cable: cut the host's link to NATS.")
_command("hang", "Freeze the host's collector (SIGSTOP); its watchdog must kill the VMs.")
_command("heal", "Plug every cable of the host back in and power it on.")
