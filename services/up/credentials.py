"""The NATS users of `haplan up`'s private server: the permission model of the compose stack
and of real deployments (services.deploy.permissions), with fresh random passwords each run.

    RUN/credentials/              0700
    RUN/credentials/nats.conf     0600  the server's configuration: limits and users; each
                                        password is read from the environment variable
                                        named beside it, as in deploy/nats/auth.conf
    RUN/credentials/<user>.json   0600  {"user": ..., "password": ...}: one per role and one
                                        per host's collector (the user's name URL-quoted)

`haplan up` gives each process only its own credential (HAPLAN_NATS_USER / _PASSWORD in its
environment, which only its owner can read), loads the pool as `admin` (and shows it as
`operator`), and names the operator's file in the runtime file, where commands of another
terminal find it.

Stdlib only at import: every `haplan` command without --nats may read a credential here.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from services.common.private_file import write_private

DIRECTORY = "credentials"
SERVER_CONFIG = "nats.conf"
OPERATOR = "operator"
ADMIN = "admin"
ARBITER = "arbiter"
PLANNER = "planner"
USER_VARIABLE = "HAPLAN_NATS_USER"
PASSWORD_VARIABLE = "HAPLAN_NATS_PASSWORD"


def new_password() -> str:
    """A random password (128 bits) the server can read from its environment: nats-server
    parses a variable's value as a configuration value, so a hex string of digits alone (or
    digits and one `e`) is a number, out of range or not a string, and the server refuses to
    start. A leading letter keeps every draw a string."""
    return "pw" + secrets.token_hex(16)


class CredentialError(Exception):
    """A credential file of `haplan up` cannot be read; the message says which and why."""


def collector_user(host: str) -> str:
    """The NATS user of `host`'s collector: the permission model's, named there only."""
    from services.deploy.permissions import collector

    return collector(host).user


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
        # Quoted as every file named after a host is: a host name may hold a '/'.
        return self.directory / (quote(user, safe="") + ".json")

    def __getitem__(self, user: str) -> Credential:
        return self.users[user]


def generate(directory: Path, hosts: list[str]) -> Credentials:
    """A random password per user (ValueError: two hosts share a user, see roles), the
    credential files and the server's configuration, in `directory` (created 0700).
    OSError when they cannot be written."""
    from services.deploy.natsconf import render_server
    from services.deploy.permissions import roles

    users = roles(hosts)
    directory.mkdir(mode=0o700)
    directory.chmod(0o700)  # whatever the umask said
    credentials = Credentials(directory, {}, {})
    for role in users:
        credential = Credential(role.user, new_password())
        credentials.users[role.user] = credential
        credentials.server_env[role.password_variable] = credential.password
        payload = {"user": credential.user, "password": credential.password}
        # The directory is fresh each run, so a file already there is someone else's and
        # write_private refuses it.
        write_private(credentials.file(role.user), (json.dumps(payload) + "\n").encode())
    write_private(credentials.server_config, render_server(hosts).encode())
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
