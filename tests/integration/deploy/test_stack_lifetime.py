"""The compose stack's processes never outlive the test run that started them: a run killed
outright (SIGKILL, or a SIGTERM that pytest does not turn into finalizers) runs no cleanup
code, so each process must die with its parent by itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tests.integration.deploy.compose import ROOT

STARTER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from tests.integration.deploy.stack import new_stack
    stack = new_stack(Path(sys.argv[1]))
    stack.start("nats-1")  # alone it never turns healthy: no cluster to form, no matter
    print(stack.running["nats-1"].pid, flush=True)
    time.sleep(120)
    """
)


def _gone(pid: int, within: float) -> bool:
    """Whether `pid` is gone, asked at once and then until `within` seconds have passed."""
    deadline = time.monotonic() + within
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def test_a_stack_node_dies_with_the_run_that_started_it(tmp_path: Path) -> None:
    """A process that started a compose NATS node (in a session of its own, out of reach of
    the run's signals) is SIGKILLed: the node is gone too, instead of running on."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    starter = subprocess.Popen(
        [sys.executable, "-c", STARTER, str(tmp_path / "stack")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    node: int | None = None
    try:
        assert starter.stdout is not None
        node = int(starter.stdout.readline())
        assert not _gone(node, within=0), "the node is not running"
        starter.send_signal(signal.SIGKILL)
        starter.wait()
        assert _gone(node, within=30), "the NATS node outlived the process that started it"
    finally:
        starter.kill()
        starter.wait()
        if node is not None and not _gone(node, within=0):
            os.killpg(node, signal.SIGKILL)  # the node leads its own process group
