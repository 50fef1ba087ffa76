"""`--help` shows operator metavars, never Python type names (`<bool>`, `<list[str]>`)."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import typer

from services.cli import output
from services.cli.app import app
from services.cli.commands import attach_all
from services.cli.main import main

TYPE_NAME = re.compile(r"<(bool|str|int|float|path|text|list\[[^\]]*\]|[a-z_]+)>")


def _paths(command: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield prefix
    for name, sub in getattr(command, "commands", {}).items():
        yield from _paths(sub, (*prefix, name))


attach_all()
COMMANDS = sorted(_paths(typer.main.get_command(app)))


def _help(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, path: tuple[str, ...]
) -> str:
    monkeypatch.setattr(sys, "argv", ["haplan", *path, "--help"])
    monkeypatch.setattr(output.console, "width", 120)
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code in (0, None)
    return capsys.readouterr().out


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "haplan")
def test_no_help_shows_a_python_type_name(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, path: tuple[str, ...]
) -> None:
    """Every command's help (the root's, groups', leaves') names no Python type in its type
    column: flags show nothing, options a metavar in capitals or their choices."""
    shown = _help(capsys, monkeypatch, path)
    assert "Usage:" in shown
    assert TYPE_NAME.search(shown) is None, TYPE_NAME.search(shown)


def test_flags_show_nothing_options_their_metavar_choices_their_values(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`haplan plan --help`: --json and --help stand alone, --work-limit shows SECONDS (its
    own metavar), --method METHOD; `haplan collector --help` shows --vm-driver's choices."""
    lines = {
        line.split()[1]: line.split()[2:]
        for line in _help(capsys, monkeypatch, ("plan",)).splitlines()
        if line.startswith("│ --")
    }
    assert lines["--json"][0] == "Machine-readable"
    assert lines["--help"][0] == "Show"
    assert lines["--work-limit"][0] == "SECONDS"
    assert lines["--method"][0] == "METHOD"
    collector = _help(capsys, monkeypatch, ("collector",))
    assert re.search(r"--vm-driver\s+sim\|process\|libvirt\s", collector)
