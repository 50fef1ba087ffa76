"""Ctrl-C on a long offline plan: a real `haplan plan` process and a real SIGINT."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.pools import random_pool
from schemas import dump_pool
from tests.fixtures.children import interruptible_child

# A 64 x 2000 pool the exact search cannot close quickly (bench/planner.py's hardest seed):
# with this work limit it would search for hours.
HARD_POOL = {"hosts": 64, "vms": 2000, "load": 0.75, "protected": 0.9, "seed": 4}
WORK_LIMIT = "100000"
GENEROUS_S = 60.0


def _solver_loaded(pid: int) -> bool:
    """The planner imports OR-Tools when it first builds a model: the search has begun."""
    try:
        return "ortools" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


@pytest.mark.timeout(300)
def test_ctrl_c_during_a_long_plan_is_one_line_and_exit_130(tmp_path: Path) -> None:
    """SIGINT while the planner searches ends `haplan plan` with exit 130 and exactly one line
    on stderr (`haplan: interrupted`), no traceback and no answer. Before the fix CP-SAT took
    the signal for itself and the search went on to the end."""
    pool_file = tmp_path / "hard.yaml"
    pool_file.write_text(dump_pool(random_pool(**HARD_POOL)))  # type: ignore[arg-type]
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "plan", str(pool_file), "--json",
         "--work-limit", WORK_LIMIT],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=interruptible_child,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + GENEROUS_S
        while not _solver_loaded(proc.pid) and proc.poll() is None:
            assert time.monotonic() < deadline, "the planner never started its search"
            time.sleep(0.1)
        assert proc.poll() is None, f"the plan ended before Ctrl-C: {proc.communicate()}"
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=GENEROUS_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"haplan plan still running {GENEROUS_S:.0f} s after Ctrl-C")
        assert proc.returncode == 130, err
        assert err.splitlines() == ["haplan: interrupted"]
        assert out == ""
    finally:
        proc.kill()
        proc.wait()
