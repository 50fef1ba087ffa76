"""Which module attaches each `haplan` command to the app, so that a start imports only the
command it runs (issue 15: the suite starts hundreds of `haplan` processes, and importing every
command module costs each of them a few tenths of a CPU second for nothing).

Each area of the CLI lives in its own module, which attaches its commands when imported; add a
new area here (tests/unit/cli/test_startup.py checks that every attached command is named).
"""

from __future__ import annotations

import importlib

COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "arbiter": ("services.cli.arbiter",),
    "audit": ("services.cli.audit",),
    "collector": ("services.cli.collector",),
    "deploy": ("services.cli.deploy",),
    "events": ("services.cli.events",),
    "fault": ("services.cli.fault",),
    "host": ("services.cli.host", "services.cli.host_keys", "services.cli.inventory"),
    "plan": ("services.cli.plan",),
    "what-if": ("services.cli.plan",),
    "evacuate": ("services.cli.plan",),
    "planner": ("services.cli.planner",),
    "pool": ("services.cli.pool",),
    "sim": ("services.cli.sim",),
    "status": ("services.cli.status",),
    "up": ("services.cli.up",),
    "version": ("services.cli.version",),
    "vm": ("services.cli.vm", "services.cli.inventory"),
}
"""Top-level command or group name -> the modules that attach it (and its subcommands)."""


def attach_all() -> None:
    """Attaches every command: for the root help and for a name that is no command (whose
    usage error lists the commands)."""
    for modules in COMMAND_MODULES.values():
        for module in modules:
            importlib.import_module(module)


def attach_for(args: list[str]) -> None:
    """Attaches the command that `args` (the command line after `haplan`) runs, or every
    command when they name none. The root takes no option but --help and --version, so the
    command is the first argument (`--version` needs none)."""
    name = args[0] if args else None
    if name == "--version":
        return  # the root's own option: no command runs
    if name is None or name not in COMMAND_MODULES:
        attach_all()
        return
    for module in COMMAND_MODULES[name]:
        importlib.import_module(module)
