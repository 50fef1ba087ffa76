"""The planner's one place that creates a CP-SAT solver, and the rule for importing OR-Tools.

Importing `ortools.sat.python.cp_model` costs about a CPU second (it pulls in numpy and pandas),
and most haplan processes never solve a model: collectors, most CLI commands, an arbiter until
it first plans. So no planner module imports it at module level: the functions that build a
model import it when they run (the first one pays once per process), and type hints import it
under TYPE_CHECKING only. tests/unit/test_process_start.py holds this.

Every solve is exact and reproducible: one search worker, a fixed seed and a deterministic time
limit, so the same input gives the same answer on any machine and under any load. One worker
also keeps a daemon (arbiter, planner service) from starting a search thread per core on a
shared host: the models here are small, and the parallel portfolio would change no answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ortools.sat.python import cp_model

SEARCH_WORKERS = 1
"""CP-SAT search workers per solve, in every process (daemons and the CLI alike)."""


def exact_solver(work_limit: float) -> cp_model.CpSolver:
    """A CP-SAT solver that stops after `work_limit` deterministic seconds (never negative)."""
    from ortools.sat.python import cp_model  # deferred: see the module docstring

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = SEARCH_WORKERS
    solver.parameters.random_seed = 0
    solver.parameters.max_deterministic_time = max(work_limit, 0.0)
    # CP-SAT takes SIGINT for itself by default and only ends the current solve: Ctrl-C on a
    # long `haplan plan` was lost, and a daemon's handlers were replaced mid-solve. The process
    # decides what a signal means (services/cli/interrupt.py).
    solver.parameters.catch_sigint_signal = False
    return solver
