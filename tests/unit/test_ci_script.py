"""CI runs what the README tells a newcomer to run: its install command (quiet) and its test
command as written, under `set -e` so that a failing or erroring test fails CI."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _command_after(label: str, readme: str) -> str:
    """The one-line shell block that follows `**label**` in the README."""
    found = re.search(rf"\*\*{label}\*\*.*?```sh\n([^\n]+)\n```", readme, re.DOTALL)
    assert found, f"the README has no {label} command"
    return found.group(1).strip()


def test_ci_runs_the_readme_install_and_test_commands_and_stops_on_failure() -> None:
    """`.ci/run` holds the README's install command (with pip's -q) and test command as lines
    of their own, the test command last, and runs with `set -euo pipefail`: pytest's non-zero
    exit on any failure or error ends CI with it."""
    readme = (ROOT / "README.md").read_text()
    script = (ROOT / ".ci" / "run").read_text().splitlines()
    install, test = _command_after("Install", readme), _command_after("Test", readme)
    assert "set -euo pipefail" in script
    assert install in [line.replace(" -q", "") for line in script]  # CI's pip is quiet
    commands = [line for line in script if line.strip() and not line.lstrip().startswith("#")]
    assert commands[-1] == test
