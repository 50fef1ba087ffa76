"""The nats-server configuration haplan renders (services.deploy.natsconf: `haplan deploy
nats-auth`, `haplan up`'s private server) holds host names an operator chose: a space, a quote,
a backslash, `#`, `}`, `$`, a non-ASCII letter or a newline in one must neither make a file
the real nats-server refuses nor change what it says. Checked with the real binary."""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

import nats
import pytest

from services.common.natsserver import NatsServer, locate_nats_server
from services.deploy.natsconf import render_auth, render_server
from services.deploy.permissions import roles
from services.up import credentials

AWKWARD = [
    "rack 1",
    'say "hi"',
    "o'brien",
    "back\\slash",
    "hash#1",
    "brace}",
    "$HOME",
    "café",
    "tab\there",
    # A newline must not end a comment and make the rest of the name configuration.
    "line\nauthorization { users: [] }",
]
PASSWORDS = {r.password_variable: f"pw-{i}" for i, r in enumerate(roles(AWKWARD))}


def check(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """nats-server's own check of a configuration file, with the environment it reads."""
    return subprocess.run(
        [str(locate_nats_server()), "-t", "-c", str(config)],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def written(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "nats.conf"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_config_for_awkward_host_names_passes_the_servers_own_check(tmp_path: Path) -> None:
    """`nats-server -t -c` accepts the whole server configuration `haplan up` runs for a pool
    whose host names need quoting (JSON's \\u escapes, which it refuses, are not used)."""
    checked = check(written(tmp_path, render_server(AWKWARD)), PASSWORDS)
    assert checked.returncode == 0, checked.stderr
    assert "is valid" in checked.stdout + checked.stderr


async def test_each_awkward_user_is_read_back_exactly(tmp_path: Path) -> None:
    """On a real server with that configuration, every collector of an awkward host connects
    under its exact user name and password (the quoting kept the name as it is), the admin
    still does (nothing in a name replaced the users), and a name nobody has is refused."""
    server = NatsServer(config=written(tmp_path, render_server(AWKWARD)), env=PASSWORDS)
    server.start()
    try:
        for i, role in enumerate(roles(AWKWARD)):
            nc = await nats.connect(
                server.url, user=role.user, password=f"pw-{i}",
                allow_reconnect=False, connect_timeout=5, max_reconnect_attempts=0,
            )  # fmt: skip
            await nc.close()
        with pytest.raises(Exception, match=r"[Aa]uthorization"):
            await nats.connect(
                server.url, user="collector-line", password="pw-0",
                allow_reconnect=False, connect_timeout=5, max_reconnect_attempts=0,
            )  # fmt: skip
    finally:
        server.stop()


def test_the_regenerate_command_in_the_header_gives_back_the_hosts() -> None:
    """The header's `haplan deploy nats-auth HOST...` line, run by a real shell, passes the
    very host names the file was made for, newline and quotes included, on one comment line."""
    lines = render_auth(AWKWARD).splitlines()
    command = next(line for line in lines if "haplan deploy nats-auth" in line)
    words = command.split("haplan deploy nats-auth ", 1)[1].removesuffix(
        "`: regenerate rather than edit."
    )
    echoed = subprocess.run(
        ["bash", "-c", f"printf '%s\\0' {words}"], capture_output=True, timeout=60, check=True
    )
    assert echoed.stdout.decode().split("\0")[:-1] == AWKWARD


def test_up_passwords_are_read_as_strings_whatever_the_draw(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """nats-server parses a password variable's value as configuration: a random hex string
    of digits alone would be a number (out of range), and the server would refuse to start.
    With the random part forced to digits, `haplan up`'s configuration and passwords still pass
    the server's check."""
    monkeypatch.setattr(secrets, "token_hex", lambda n: "1" * (2 * n))
    made = credentials.generate(tmp_path / "credentials", ["lab1", "lab2"])
    checked = check(made.server_config, made.server_env)
    assert checked.returncode == 0, checked.stderr
