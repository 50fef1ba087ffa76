"""The NATS users of `haplan up`'s private server: the permission model of the compose stack
and of real deployments (services.deploy.permissions), with fresh random passwords each run.

    RUN/credentials/              0700
    RUN/credentials/nats.conf     0600  the server's configuration: limits and users; each
                                        password is read from the environment variable
                                        named beside it, as in deploy/nats/auth.conf
    RUN/credentials/<user>.json   0600  {"user": ..., "password": ...}: one per role and one
                                        per host's collector

`haplan up` gives each process only its own credential (HAPLAN_NATS_USER / _PASSWORD in its
environment, which only its owner can read), loads the pool as `admin`, and names the
operator's file in the runtime file, where commands of another terminal find it.

Stdlib only at import: every `haplan` command without --nats may read a credential here.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

DIRECTORY = "credentials"
SERVER_CONFIG = "nats.conf"
OPERATOR = "operator"
ADMIN = "admin"
ARBITER = "arbiter"
PLANNER = "planner"
USER_VARIABLE = "HAPLAN_NATS_USER"
PASSWORD_VARIABLE = "HAPLAN_NATS_PASSWORD"


class CredentialError(Exception):
    """A credential file of `haplan up` cannot be read; the message says which and why."""


def collector_user(host: str) -> str:
    return f"collector-{host}"  # services.deploy.permissions.collector


@dataclass(frozen=True)
class Credential:
    user: str
    password: str

    def env(self) -> dict[str, str]:
        """The environment a process of the run connects with."""
        return {USER_VARIABLE: self.user, PASSWORD_VARIABLE: self.password}


@dataclass(frozen=True)
class Credentials:
    """Every user of one run, where their files are and what the server needs."""

    directory: Path
    users: dict[str, Credential]
    server_env: dict[str, str]  # password variable -> password, for nats-server only

    @property
    def server_config(self) -> Path:
        return self.directory / SERVER_CONFIG

    def file(self, user: str) -> Path:
        return self.directory / f"{user}.json"

    def __getitem__(self, user: str) -> Credential:
        return self.users[user]


def _write_private(path: Path, text: str) -> None:
    # Created 0600 (never world-readable, not even for a moment); O_EXCL: the directory is
    # fresh each run, so an existing file is someone else's and is refused.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def generate(directory: Path, hosts: list[str]) -> Credentials:
    """A random password per user (ValueError: two hosts share a user, see roles), the
    credential files and the server's configuration, in `directory` (created 0700)."""
    from services.deploy.natsconf import render_server
    from services.deploy.permissions import roles

    users = roles(hosts)
    directory.mkdir(mode=0o700)
    directory.chmod(0o700)  # whatever the umask said
    credentials = Credentials(directory, {}, {})
    for role in users:
        credential = Credential(role.user, secrets.token_hex(16))
        credentials.users[role.user] = credential
        credentials.server_env[role.password_variable] = credential.password
        payload = {"user": credential.user, "password": credential.password}
        _write_private(credentials.file(role.user), json.dumps(payload) + "\n")
    _write_private(credentials.server_config, render_server(hosts))
    return credentials


def read_credential(path: Path) -> Credential:
    """One credential file of a run; CredentialError when it cannot be read or is not one."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return Credential(user=str(raw["user"]), password=str(raw["password"]))
    except OSError as exc:
        raise CredentialError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise CredentialError(f"{path} is not a credential file of haplan up: {exc}") from None
