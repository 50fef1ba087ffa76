"""The options of the planning commands: their declarations, --work-limit, and what-if's
parsed: --fail into a failure set, --add-vm, --set-priority and the other change options
into one planner PoolChange.

Every malformed option is a one-line error naming the option, the value given and the form
expected. Importing this module does not load the planner (see services.cli.plan).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from schemas import BEST_EFFORT, RESTART, UNPROTECTED, VM, Host, Priority
from services.cli.output import UserError, fail

if TYPE_CHECKING:
    from services.planner import PoolChange

PRIORITIES: dict[str, Priority] = {"restart": RESTART, "best-effort": BEST_EFFORT, "": UNPROTECTED}
PRIORITY_HINT = "use restart, best-effort, or nothing for an unprotected VM"

PoolArg = Annotated[
    Path,
    typer.Argument(
        metavar="POOL", help="Pool file (YAML or JSON, spec/pool-format.md).", show_default=False
    ),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
WorkLimit = Annotated[
    float | None,
    typer.Option(
        "--work-limit",
        metavar="SECONDS",
        help="Planner work limit in deterministic seconds (reproducible, not wall clock); past "
        "it the answer is the proven value with its upper bound. Exact method only.",
        show_default=False,
    ),
]


def repeated(flag: str, metavar: str, help: str) -> Any:
    """A what-if option: no default shown, the metavar says the form."""
    return typer.Option(flag, metavar=metavar, help=help, show_default=False)


def planner_limit(work_limit: float | None) -> dict[str, Any]:
    """Keyword arguments for the core: its own default unless the operator gave one."""
    if work_limit is None:
        return {}
    if not work_limit > 0:
        fail(f"--work-limit must be a positive number of seconds, not {work_limit}")
    return {"work_limit": work_limit}


def failed_hosts(values: list[str] | None) -> tuple[str, ...] | None:
    """The failure set that --fail names (repeatable, comma-separated), None without --fail."""
    if values is None:
        return None
    names = tuple(n.strip() for v in values for n in v.split(",") if n.strip())
    if not names:
        fail("--fail names no host", "write --fail H1,H2 with host names of the pool")
    return names


def pool_change(
    add_vm: list[str],
    remove_vm: list[str],
    set_priority: list[str],
    add_host: list[str],
    remove_host: list[str],
    set_ntol: int | None,
) -> PoolChange | None:
    """The what-if change the options describe, or None when they describe none."""
    if not (add_vm or remove_vm or set_priority or add_host or remove_host) and set_ntol is None:
        return None
    # Parsed before the planner is imported: a typo fails without loading OR-Tools.
    hosts = tuple(_new_host(s) for s in add_host)
    vms = tuple(_new_vm(s) for s in add_vm)
    priorities = tuple(_new_priority(s) for s in set_priority)
    from services.planner import PoolChange

    return PoolChange(
        add_hosts=hosts,
        remove_hosts=tuple(remove_host),
        add_vms=vms,
        remove_vms=tuple(remove_vm),
        set_priority=priorities,
        set_ntol=set_ntol,
    )


def _mib(option: str, spec: str, text: str, hint: str, minimum: int = 1) -> int:
    try:
        value = int(text)
    except ValueError:
        raise UserError(f"{option} {spec!r}: {text!r} is not a whole number of MiB", hint) from None
    if value < minimum:
        raise UserError(f"{option} {spec!r}: memory must be at least {minimum} MiB", hint)
    return value


def _new_vm(spec: str) -> VM:
    hint = "write NAME:MEMORY_MIB[:PRIORITY[:HOST]], e.g. --add-vm 'web 3:4096:restart:lab2'"
    parts = spec.split(":")
    if not 2 <= len(parts) <= 4 or not parts[0]:
        fail(f"--add-vm {spec!r}: expected NAME:MEMORY_MIB[:PRIORITY[:HOST]]", hint)
    memory = _mib("--add-vm", spec, parts[1], hint)
    priority = parts[2] if len(parts) > 2 else ""
    if priority not in PRIORITIES:
        fail(f"--add-vm {spec!r}: unknown priority {priority!r}", PRIORITY_HINT)
    host = parts[3] if len(parts) > 3 and parts[3] else None
    return VM(name=parts[0], memory_mib=memory, ha_restart_priority=PRIORITIES[priority], host=host)


def _new_host(spec: str) -> Host:
    hint = "write NAME:MEMORY_MIB[:RESERVED_MIB], e.g. --add-host 'lab3:65536:2048'"
    parts = spec.split(":")
    if not 2 <= len(parts) <= 3 or not parts[0]:
        fail(f"--add-host {spec!r}: expected NAME:MEMORY_MIB[:RESERVED_MIB]", hint)
    memory = _mib("--add-host", spec, parts[1], hint)
    reserved = _mib("--add-host", spec, parts[2], hint, minimum=0) if len(parts) > 2 else 0
    return Host(name=parts[0], memory_mib=memory, reserved_mib=reserved)


def _new_priority(spec: str) -> tuple[str, Priority]:
    name, sep, priority = spec.rpartition("=")
    if not sep or not name:
        fail(f"--set-priority {spec!r}: expected NAME=PRIORITY", "e.g. 'web 1=restart'")
    if priority not in PRIORITIES:
        fail(f"--set-priority {spec!r}: unknown priority {priority!r}", PRIORITY_HINT)
    return name, PRIORITIES[priority]
