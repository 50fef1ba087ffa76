"""`haplan up`'s NATS users (services.up.credentials): every role of the permission model,
random passwords each run, files only their owner can read, and a server configuration with
the users and the deployment's limits."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from services.deploy.natsconf import render_limits
from services.deploy.permissions import roles
from services.up.credentials import (
    SERVER_CONFIG,
    CredentialError,
    collector_user,
    generate,
    read_credential,
)

HOSTS = ["lab1", "lab2"]


def test_every_role_gets_a_private_file_with_a_random_password(tmp_path: Path) -> None:
    """One credential file per user of the permission model (the roles, one collector per
    host), the directory 0700 and every file 0600 whatever the umask; passwords differ
    between users and between runs."""
    first = generate(tmp_path / "one", HOSTS)
    second = generate(tmp_path / "two", HOSTS)
    users = {r.user for r in roles(HOSTS)}
    assert set(first.users) == users and collector_user("lab2") in users
    assert stat.S_IMODE(first.directory.stat().st_mode) == 0o700
    for path in first.directory.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert {p.name for p in first.directory.iterdir()} == {
        SERVER_CONFIG, *(f"{u}.json" for u in users)
    }
    passwords = [c.password for c in first.users.values()]
    assert len(set(passwords)) == len(passwords)
    assert all(len(p) == 34 and p[0].isalpha() for p in passwords)
    assert not set(passwords) & {c.password for c in second.users.values()}
    for user in users:
        assert read_credential(first.file(user)) == first[user]


def test_the_server_config_names_each_password_variable_and_holds_no_password(
    tmp_path: Path,
) -> None:
    """nats.conf has the deployment's limits and every user, each password read from the
    environment variable the server is given (none written in the file)."""
    made = generate(tmp_path / "c", HOSTS)
    text = made.server_config.read_text()
    assert render_limits() in text and "max_payload: 512KB" in text
    for role in roles(HOSTS):
        assert f'user: "{role.user}"' in text
        assert f"password: ${role.password_variable}" in text
        assert made.server_env[role.password_variable] == made[role.user].password
    assert not any(c.password in text for c in made.users.values())


def test_a_credential_file_that_is_not_one_is_a_one_line_error(tmp_path: Path) -> None:
    """Reading a missing or foreign credential file raises CredentialError naming it."""
    with pytest.raises(CredentialError, match="cannot read"):
        read_credential(tmp_path / "operator.json")
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({"name": "x"}))
    with pytest.raises(CredentialError, match="not a credential file"):
        read_credential(foreign)


def test_hosts_that_would_share_a_user_are_refused(tmp_path: Path) -> None:
    """Two hosts whose users' password variables collide (one host listed twice):
    ValueError, nothing half-made that could be taken for a run's credentials."""
    with pytest.raises(ValueError, match="two hosts"):
        generate(tmp_path / "c", ["lab1", "lab1"])
    assert not (tmp_path / "c").exists()


def test_hosts_named_alike_or_with_a_slash_get_users_of_their_own(tmp_path: Path) -> None:
    """Hosts that differ only in punctuation or case, and a host whose name holds a '/'
    (a pool accepts it), each get a credential file of their own with its own password,
    and the server is given one password variable per user."""
    hosts = ["lab-1", "lab_1", "Lab1", "rack/1"]
    made = generate(tmp_path / "c", hosts)
    assert len(made.server_env) == len(roles(hosts))
    for host in hosts:
        user = collector_user(host)
        assert read_credential(made.file(user)) == made[user]
        assert made.file(user).parent == made.directory
