"""What nats-server can bound per credential (docs/protocol.md, Per-credential limits): the
real binary's own configuration check. haplan's permission model gives each host a user of its
own in one shared account; these tests hold the documentation's reason for not bounding a
host's connections per user, and fail the day the server accepts per-user limits (then the
permission model should set them)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from services.common.natsserver import locate_nats_server

LIMITS = "max_payload: 65536, max_connections: 4, max_subscriptions: 64"


def _check(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "limits.conf"
    config.write_text(text)
    return subprocess.run(
        [str(locate_nats_server()), "-t", "-c", str(config)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_a_user_entry_with_limits_is_refused(tmp_path: Path) -> None:
    """A user of the `authorization` block (haplan's model) with a payload, connection or
    subscription limit: the server refuses the file, naming each field."""
    done = _check(
        tmp_path,
        f'authorization {{ users: [ {{ user: "collector-h1", password: "pw", {LIMITS} }} ] }}\n',
    )
    assert done.returncode != 0
    for field in ("max_payload", "max_connections", "max_subscriptions"):
        assert f'unknown field "{field}"' in done.stderr + done.stdout


def test_the_same_limits_are_accepted_per_account(tmp_path: Path) -> None:
    """The same limits on an account (its users' connections counted together) pass the
    server's check: the one place a configuration file can bound them."""
    done = _check(
        tmp_path,
        f'accounts {{ H1: {{ users: [ {{ user: "collector-h1", password: "pw" }} ], '
        f"limits: {{ {LIMITS} }} }} }}\n",
    )
    assert done.returncode == 0, done.stderr + done.stdout
