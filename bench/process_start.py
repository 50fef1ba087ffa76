"""What each haplan process costs to start (issue 15): the suite starts hundreds of them
(collectors, arbiters, CLI commands), so a second of CPU per start is minutes of suite time on a
2-core machine. Prints the user+system CPU and the wall time of each start, the best of a few runs
(the best is the cost without interference from other work on the machine), and which of the
heavy libraries each one imported.

    .venv/bin/python bench/process_start.py [ROUNDS]
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

VENV_BIN = Path(sys.executable).parent
HAPLAN = str(VENV_BIN / "haplan")

# The CLI starts: what a test or an operator pays per command, before the command does anything.
COMMANDS: dict[str, list[str]] = {
    "haplan version": [HAPLAN, "version"],
    "haplan --help": [HAPLAN, "--help"],
    "haplan status --help": [HAPLAN, "status", "--help"],
    "haplan collector --help": [HAPLAN, "collector", "--help"],
    "haplan arbiter --help": [HAPLAN, "arbiter", "--help"],
    "haplan planner --help": [HAPLAN, "planner", "--help"],
}

# The services' entry modules, imported in a fresh interpreter: what a daemon pays to start.
MODULES = [
    "services.cli.main",
    "services.cli.status",  # what `haplan status` imports before asking the leader
    "services.collector.service",
    "services.arbiter.service",
    "services.planner.service.service",
]

# Libraries worth naming when a start pulls them in: each costs a noticeable share of a start.
HEAVY = ["ortools", "cryptography", "rich", "nats", "pydantic", "structlog", "typer", "yaml",
         "pygments", "rich.traceback", "schemas.events"]  # fmt: skip

_PROBE = (
    "import importlib, sys; importlib.import_module(sys.argv[1]); "
    "print(' '.join(h for h in sys.argv[2:] if h in sys.modules))"
)


def _timed(argv: list[str]) -> tuple[float, float, str]:
    """(CPU seconds, wall seconds, stdout) of one child process run to its end."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, done.stdout


def _best(argv: list[str], rounds: int) -> tuple[float, float, str]:
    runs = [_timed(argv) for _ in range(rounds)]
    return min(r[0] for r in runs), min(r[1] for r in runs), runs[-1][2]


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    print(f"best of {rounds} runs; CPU = user + system of the child process")
    print(f"{'start':<42} {'CPU s':>6} {'wall s':>7}  heavy modules imported")
    for name, argv in COMMANDS.items():
        cpu, wall, _ = _best(argv, rounds)
        print(f"{name:<42} {cpu:6.2f} {wall:7.2f}")
    for module in MODULES:
        cpu, wall, out = _best([sys.executable, "-c", _PROBE, module, *HEAVY], rounds)
        print(f"{'import ' + module:<42} {cpu:6.2f} {wall:7.2f}  {out.strip()}")


if __name__ == "__main__":
    main()
