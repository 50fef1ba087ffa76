"""`haplan` starts light: importing the CLI loads neither the solver nor the audit core nor the
simulator (the commands that need them import them), and the help still lists every command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from services.cli.app import app
from services.cli.commands import COMMAND_MODULES, attach_all

ROOT = Path(__file__).resolve().parents[3]
attach_all()  # every command on the app, as `haplan --help` attaches them

# What only some commands need, and every start would otherwise pay for.
SOLVER_AND_CORES = ("ortools", "services.planner", "services.audit", "services.sim")
BUS = ("nats", "services.common.eventstore")
# Each command module, on its own, keeps the bus out of the start too.
LIGHT_MODULES = (
    "services.cli.plan",
    "services.cli.events",
    "services.cli.pool",
    "services.cli.sim",
    "services.cli.audit",
    "services.cli.version",
    "services.cli.arbiter",
    "services.cli.collector",
    "services.cli.status",
    "services.cli.host",
    "services.cli.vm",
    "services.cli.ops",
    "services.cli.pool_ha",
    "services.cli.op_results",
    "services.cli.operator_tables",
    "services.cli.xe_params",
    "services.cli.planner",
    "services.cli.up",
    "services.cli.fault",
    "services.cli.deploy",
)
# Commands the operator documentation names; the help must list at least these.
KNOWN = {
    "plan", "what-if", "evacuate", "events", "pool", "audit", "sim", "version",
    "status", "host", "vm", "up", "fault", "collector", "arbiter", "planner", "deploy",
}  # fmt: skip


def _loaded_after_importing(modules: tuple[str, ...], watched: tuple[str, ...]) -> list[str]:
    """The `watched` modules a fresh interpreter holds once it has imported `modules`."""
    script = (
        "import importlib, json, sys\n"
        f"for m in {list(modules)!r}: importlib.import_module(m)\n"
        f"print(json.dumps([w for w in {list(watched)!r} if w in sys.modules]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    loaded: list[str] = json.loads(result.stdout)
    return loaded


def _help(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "services.cli.main", *args, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _first_words(help_text: str) -> set[str]:
    """The first word of each line of a help screen, inside its box (drawn in Unicode or,
    on an ASCII terminal, in ASCII)."""
    words = set()
    for line in help_text.splitlines():
        word = next((t for t in line.split() if any(ch.isalnum() for ch in t)), None)
        if word is not None:
            words.add(word)
    return words


def _names(group: typer.Typer) -> set[str]:
    commands = {
        c.name or c.callback.__name__.replace("_", "-")
        for c in group.registered_commands
        if c.callback is not None
    }
    return commands | {g.name for g in group.registered_groups if g.name}


def test_importing_the_cli_loads_no_bus_solver_audit_core_or_simulator() -> None:
    """`import services.cli.main` (what every `haplan` start does) leaves NATS, the event
    store, OR-Tools, the planner, the audit core and the simulator unloaded."""
    assert _loaded_after_importing(("services.cli.main",), BUS + SOLVER_AND_CORES) == []


@pytest.mark.parametrize("module", LIGHT_MODULES)
def test_command_modules_load_neither_the_bus_nor_the_cores(module: str) -> None:
    """Every command module imports NATS, the event store and the cores inside its
    commands, not when it is imported."""
    assert _loaded_after_importing(("services.cli.app", module), BUS + SOLVER_AND_CORES) == []


def test_the_check_sees_a_heavy_import() -> None:
    """The subprocess check does report a module that does load the planner."""
    assert _loaded_after_importing(("services.planner",), SOLVER_AND_CORES) == ["services.planner"]


def test_help_lists_every_command() -> None:
    """`haplan --help` names every command and group attached to the app, and each group's
    help names its subcommands."""
    registered = _names(app)
    assert registered >= KNOWN
    listed = _first_words(_help())
    assert registered <= listed, registered - listed
    for group in app.registered_groups:
        assert group.name is not None and group.typer_instance is not None
        missing = _names(group.typer_instance) - _first_words(_help(group.name))
        assert not missing, (group.name, missing)


def test_every_attached_command_is_named_in_the_command_map() -> None:
    """`COMMAND_MODULES` names exactly the commands and groups the modules attach, so a start
    can import the one it runs (a command missing from the map could only run via the root)."""
    assert set(COMMAND_MODULES) == _names(app)


# Run in a fresh interpreter: which commands are attached after the calls in `steps`.
_ATTACHED = (
    "import json, sys\n"
    "from services.cli.app import app\n"
    "from services.cli.commands import COMMAND_MODULES, attach_for\n"
    "def names():\n"
    "    return sorted([c.name or c.callback.__name__ for c in app.registered_commands]\n"
    "                  + [g.name for g in app.registered_groups if g.name])\n"
)


def _attached_after(steps: str) -> Any:
    result = subprocess.run(
        [sys.executable, "-c", _ATTACHED + steps],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_start_attaches_only_the_command_it_runs() -> None:
    """In a fresh interpreter, `attach_for` with a command line attaches that command and no
    other (`version`: its module imports no other command module; `status` also attaches
    `events`, whose bus helpers it uses), and each command of the map is attached by the
    modules the map gives it."""
    steps = (
        "attach_for(['version', '--json'])\n"
        "alone = names()\n"
        "missing = []\n"
        "for name in COMMAND_MODULES:\n"
        "    attach_for([name, '--help'])\n"
        "    if name not in names():\n"
        "        missing.append(name)\n"
        "print(json.dumps([alone, missing]))\n"
    )
    assert _attached_after(steps) == [["version"], []]


@pytest.mark.parametrize("args", [[], ["--help"], ["no-such-command"]])
def test_a_start_that_names_no_command_attaches_them_all(args: list[str]) -> None:
    """The root help, and a name that is no command (whose usage error lists the commands),
    attach every command."""
    steps = f"attach_for({args!r})\nprint(json.dumps(names()))\n"
    assert _attached_after(steps) == sorted(COMMAND_MODULES)
