"""What a haplan process imports to start (issue 15): the suite and a pool start many
collectors, arbiters and CLI commands, and OR-Tools alone costs about a CPU second per start.
Only computing a plan may import it (services/planner/solver.py). Each probe runs in a fresh
interpreter, since this test process has long imported everything. Costs in seconds are
measured by bench/process_start.py, not asserted here."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

# Imports each module in turn and names the first one after which one of the packages or
# modules listed (comma-separated) in its first argument is loaded, or prints "none".
_FIRST_HEAVY = (
    "import importlib, sys\n"
    "culprit = 'none'\n"
    "heavy = set(sys.argv[1].split(','))\n"
    "for name in sys.argv[2:]:\n"
    "    importlib.import_module(name)\n"
    "    if any(m.split('.')[0] in heavy or m in heavy for m in sys.modules):\n"
    "        culprit = name\n"
    "        break\n"
    "print(culprit)\n"
)

_PLANS = (
    "import sys\n"
    "from services.planner.placement import Bin, Item, best_placement\n"
    "items = [Item(name=f'vm{i}', size=2, group=None, tier=0, order=0) for i in range(3)]\n"
    "best_placement(items, [Bin(name='h1', free=4), Bin(name='h2', free=4)], work_limit=1.0)\n"
    "print(sorted({m.split('.')[0] for m in sys.modules} & {'ortools'}))\n"
)


def _heavy_after(code: str, *modules: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *modules], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


# One interpreter for all of them (each start costs a CPU second): the probe names the first
# module that pulled OR-Tools in, so a failure still says which process regressed.
NON_PLANNING_STARTS = (
    # `haplan collector`: the collector never plans.
    "services.cli.main",
    "services.collector.service",
    # `haplan status`: the command and the arbiter view it reads.
    "services.cli.status",
    "services.arbiter.status",
    # An arbiter and a planner service start without planning; their first plan imports it.
    "services.arbiter.service",
    "services.planner.service.service",
)


def test_starting_a_process_that_does_not_plan_imports_no_ortools() -> None:
    """Importing the entry modules of the CLI, a collector, `haplan status`, an arbiter and
    the planner service in a fresh interpreter leaves OR-Tools (and the pandas it pulls in)
    out of sys.modules."""
    assert _heavy_after(_FIRST_HEAVY, "ortools,pandas", *NON_PLANNING_STARTS) == "none"


def test_an_arbiter_loads_the_capacity_search_only_when_it_checks_a_plan() -> None:
    """An arbiter's start (and `haplan status`) leaves numpy, which only the planner's capacity
    search uses, unloaded; importing that search (as admission control's first check does)
    loads it."""
    starts = ("services.cli.main", "services.cli.status", "services.arbiter.service")
    assert _heavy_after(_FIRST_HEAVY, "numpy", *starts) == "none"
    assert _heavy_after(_FIRST_HEAVY, "numpy", *starts, "services.planner.capacity") == (
        "services.planner.capacity"
    )


def test_computing_a_placement_imports_ortools_when_it_solves() -> None:
    """The probe sees OR-Tools when it is imported: a CP-SAT placement in a fresh interpreter
    leaves `ortools` in sys.modules (so the test above can tell the difference)."""
    assert _heavy_after(_PLANS) == "['ortools']"


def test_status_reads_the_arbiter_view_without_building_the_decision_core() -> None:
    """`haplan status` imports `services.arbiter.status`, which leaves the arbiter's decision
    core (core, operator, orchestrate) unloaded: the package resolves its names on first use."""
    starts = ("services.cli.main", "services.cli.status", "services.arbiter.status")
    core = "services.arbiter.core,services.arbiter.operator,services.arbiter.orchestrate"
    assert _heavy_after(_FIRST_HEAVY, core, *starts) == "none"


@pytest.mark.parametrize("package", ["schemas", "services.planner", "services.arbiter"])
def test_every_name_a_lazy_package_exports_resolves(package: str) -> None:
    """Each name in the `__all__` of a package that loads its names on first use resolves to
    the object of the submodule it names, and a name it does not export is an AttributeError."""
    module = importlib.import_module(package)
    homes: dict[str, str] = module._HOME
    assert sorted(homes) == sorted(module.__all__)
    for name, home in homes.items():
        assert getattr(module, name) is getattr(importlib.import_module(home), name)
    with pytest.raises(AttributeError):
        _ = module.no_such_name


def test_status_asking_the_leader_leaves_the_event_catalogue_unloaded() -> None:
    """What `haplan status` imports to ask the leader (the command, its bus requests, the bus,
    the op subjects, logging) leaves the event catalogue (`schemas.events`, ~60 pydantic
    models) and the log fold (`services.state`) unloaded: only the no-leader path reads the
    log, and imports them then."""
    starts = (
        "services.cli.main",
        "services.cli.status",
        "services.cli.ops",
        "services.common.bus",
        "services.common.wire",
        "services.common.logging",
    )
    assert _heavy_after(_FIRST_HEAVY, "schemas.events,services.state", *starts) == "none"


def test_services_start_without_rich_tracebacks() -> None:
    """A collector, an arbiter and `haplan status` start without rich's traceback renderer and
    pretty-printer or pygments (structlog loads them at import for a console renderer that
    services, which log JSON lines, never use)."""
    starts = (
        "services.cli.main",
        "services.cli.collector",
        "services.collector.service",
        "services.arbiter.service",
        "services.cli.status",
    )
    heavy = "rich.traceback,rich.pretty,pygments"
    assert _heavy_after(_FIRST_HEAVY, heavy, *starts) == "none"


_CONSOLE = (
    "import io, structlog\n"
    "from services.common.logging import configure_logging\n"
    "configure_logging('info', stream=io.StringIO(), tty=True)\n"
    "renderer = structlog.get_config()['processors'][-1]\n"
    "print(type(renderer._exception_formatter).__name__)\n"
)


def test_a_terminal_session_still_gets_rich_tracebacks() -> None:
    """On a terminal the console renderer formats exceptions with rich's tracebacks, as
    structlog's default does when rich is installed: a start that left them unloaded loads
    them when it chooses that renderer."""
    assert _heavy_after(_CONSOLE) == "RichTracebackFormatter"


def test_a_haplan_start_leaves_the_pool_file_parser_to_the_commands_that_read_one() -> None:
    """`services.cli.main`, which every `haplan` start imports and which catches PoolError,
    leaves YAML and the pool file parser (schemas.pool_file) unloaded: PoolError lives apart
    (schemas.pool_error), and it is the same class that the parser raises."""
    assert _heavy_after(_FIRST_HEAVY, "yaml,schemas.pool_file", "services.cli.main") == "none"
    from schemas import PoolError
    from schemas.pool_file import PoolError as RaisedByTheParser

    assert PoolError is RaisedByTheParser
