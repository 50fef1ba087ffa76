"""The README, docs/ (the decision records too), CONTRIBUTING.md and CHANGELOG.md name only
what exists: every `haplan ...` command they show is a command, with options it has; every
repository path they cite is in the repository; every `HAPLAN_*` / `NATS_*` variable they name
is read somewhere in the code or the deployment files. (A renamed flag or file otherwise
leaves the docs behind silently.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer.main

from services.cli.app import app
from services.cli.commands import attach_all

attach_all()  # every command on the app, as `haplan --help` shows them

ROOT = Path(__file__).resolve().parents[2]
DOCS = (
    "README.md",
    "docs/protocol.md",
    "docs/operations.md",
    "CONTRIBUTING.md",
    "CHANGELOG.md",
    *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs/decisions").glob("*.md")),
)
# `haplan` and the words after it, then the rest of the line up to the end of the code span.
COMMAND = re.compile(r"haplan((?: [a-z][a-z0-9-]*)+)([^`\n|#]*)")
FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")
PATH = re.compile(r"\b(?:services|schemas|deploy|tests|bench|docs)/[A-Za-z0-9_./-]*[A-Za-z0-9_]")
# Whole names only: `HAPLAN_PW_*` or `HAPLAN_NATS_` is a family, not a variable.
VARIABLE = re.compile(r"\b(?:HAPLAN|NATS)_[A-Z0-9_]*[A-Z0-9](?![A-Z0-9_*])")
# Read as a prefix: the TLS variables, and a collector's password variable, made from its
# host's name (services.deploy.permissions.collector_password_variable; docs give examples).
VARIABLE_PREFIXES = ("HAPLAN_PW_COLLECTOR_", "HAPLAN_NATS_TLS_", "HAPLAN_TLS_")
SOURCES = ("services", "schemas", "deploy", "tests", "bench")


def doc(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def command_tree() -> Any:
    return typer.main.get_command(app)


def resolve(root: Any, words: list[str]) -> tuple[Any, list[str]]:
    """The deepest command `words` name, and the words that named it."""
    command: Any = root
    path: list[str] = []
    for word in words:
        sub = getattr(command, "commands", {}).get(word)
        if sub is None:
            break
        command, path = sub, [*path, word]
    return command, path


def options(command: Any) -> set[str]:
    return {o for p in command.params for o in (*p.opts, *p.secondary_opts)}


def code_text() -> str:
    files = [p for d in SOURCES for p in (ROOT / d).rglob("*") if p.is_file()]
    files += [ROOT / "docker-compose.yml"]
    texts = []
    for path in files:
        if path.suffix in (".py", ".conf", ".yml", ".yaml", "") and "__pycache__" not in path.parts:
            texts.append(path.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(texts)


@pytest.mark.parametrize("name", DOCS)
def test_every_command_shown_exists_with_its_options(name: str) -> None:
    """Each `haplan WORD...` names a command (a group's next word is one of its commands) and
    each `--option` written after it is one that command takes."""
    root = command_tree()
    wrong = []
    for match in COMMAND.finditer(doc(name)):
        words = match.group(1).split()
        command, path = resolve(root, words)
        if not path:
            continue  # prose: "haplan is", "haplan's"
        rest = " ".join(words[len(path) :]) + match.group(2)
        if hasattr(command, "commands") and len(path) < len(words):
            wrong.append(f"haplan {' '.join(path)} has no command {words[len(path)]!r}")
        known = options(command)
        wrong += [
            f"haplan {' '.join(path)} has no {f}" for f in FLAG.findall(rest) if f not in known
        ]
    assert wrong == []


@pytest.mark.parametrize("name", DOCS)
def test_every_repository_path_cited_exists(name: str) -> None:
    """A path under services/, schemas/, deploy/, tests/, bench/ or docs/ is in the tree."""
    missing = sorted({p for p in PATH.findall(doc(name)) if not (ROOT / p).exists()})
    assert missing == []


@pytest.mark.parametrize("name", DOCS)
def test_every_variable_named_is_read_somewhere(name: str) -> None:
    """An environment variable the docs tell an operator to set is named by the code or the
    deployment files (a name made from a host's name is checked by its prefix)."""
    code = code_text()
    named = set(VARIABLE.findall(doc(name)))
    unknown = sorted(
        v for v in named
        if not re.search(rf"\b{v}\b", code) and not v.startswith(VARIABLE_PREFIXES)
    )  # fmt: skip
    assert unknown == []
