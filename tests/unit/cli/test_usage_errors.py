"""Mistyped commands get the same one-line error and exit status 2 as any other bad input."""

from __future__ import annotations

import subprocess
import sys

import pytest

LAB = "schemas/examples/lab.yaml"


def _haplan(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli.main", *args],
        capture_output=True, text=True, timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("plan",), "Missing argument 'POOL'"),
        (("plan", LAB, "--bogus"), "No such option: --bogus"),
        (("what-if", LAB, "--set-ntol", "abc"), "'--set-ntol'"),
        (("nosuch",), "No such command 'nosuch'"),
        (("vm", "shutdown", "web", "--wait", "inf"), "'--wait'"),
        (("vm", "shutdown", "web", "--wait", "-1"), "'--wait'"),
        (("vm", "migrate", "web"), "Missing argument 'HOST'"),
        (("vm", "migrate", "web", "h2", "--wait", "-1"), "'--wait'"),
        (("vm", "list", "--state", "bogus"), "'--state'"),
        (("vm", "list", "--priority", "high"), "'--priority'"),
        (("vm", "list", "--protected", "--priority", "best-effort"), "--protected and --priority"),
        (("host", "list", "--state", "up"), "'--state'"),
        (("host", "list", "extra"), "unexpected extra argument"),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(args: tuple[str, ...], says: str) -> None:
    """A usage error prints exactly one stderr line naming the problem and the help to read."""
    result = _haplan(*args)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("haplan: error: ") and says in lines[0]
    assert "--help" in lines[0]
    assert result.stdout == ""


def test_version_flag_prints_the_version_and_runs_no_command() -> None:
    """`haplan --version` prints the same line as `haplan version` and exits 0."""
    flag, command = _haplan("--version"), _haplan("version")
    assert flag.returncode == 0 and flag.stderr == ""
    assert flag.stdout.startswith("haplan ") and flag.stdout == command.stdout


def test_bare_haplan_shows_help_and_succeeds() -> None:
    """`haplan` with no command lists the commands and is not an error."""
    result = _haplan()
    assert result.returncode == 0
    assert "plan" in result.stdout and result.stderr == ""
