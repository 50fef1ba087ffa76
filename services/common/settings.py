"""Settings of the bus side of every service, from the environment (pydantic-settings).

`NATS_URL` (spec/cli.md) names the servers, comma-separated; the rest are `HAPLAN_*`.
Credentials (README, Deploying on real hosts) come from the environment too, never from
NATS_URL, which services log: `HAPLAN_NATS_USER` / `HAPLAN_NATS_PASSWORD`, or
`HAPLAN_NATS_CREDS` (a creds file), and `HAPLAN_NATS_TLS_CA` (plus `_CERT` / `_KEY` for
mutual TLS) to verify the servers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
# Who a process is to NATS: meaningless for a private server without authentication (`haplan
# up`), whose processes must not inherit them from the operator's shell.
IDENTITY_VARIABLES = tuple(
    f"HAPLAN_NATS_{name}" for name in ("USER", "PASSWORD", "CREDS", "TLS_CA", "TLS_CERT", "TLS_KEY")
)


_SCHEMES = ("nats", "tls", "ws", "wss")


def _check_server(server: str) -> None:
    """Refuse what the NATS client would only reject deep inside a connect, with a traceback."""
    url = urlsplit(server if "://" in server else f"nats://{server}")
    try:
        port_ok = url.port is None or 0 < url.port < 65536
    except ValueError:
        port_ok = False
    if url.scheme not in _SCHEMES or not url.hostname or " " in server or not port_ok:
        raise ValueError(
            f"NATS server {server!r} is not a URL like nats://HOST:PORT "
            f"(schemes: {', '.join(_SCHEMES)})"
        )


def _readable(path: Path | None) -> Path | None:
    if path is not None and not path.is_file():
        raise ValueError(f"{path} is not a readable file")
    return path


class BusSettings(BaseSettings):
    """How to reach NATS and how to shape the event stream."""

    model_config = SettingsConfigDict(env_prefix="HAPLAN_", populate_by_name=True, frozen=True)

    nats_url: str = Field(
        DEFAULT_NATS_URL, validation_alias=AliasChoices("NATS_URL", "HAPLAN_NATS_URL")
    )
    # 1 for the embedded single server, 3 on a 3-node cluster (DESIGN.md, Running it).
    stream_replicas: Annotated[int, Field(ge=1, le=5)] = 1
    # How long a command waits for NATS before saying it is unreachable. Services wait
    # forever instead (they reconnect until stopped).
    connect_timeout_s: Annotated[float, Field(gt=0)] = 2.0
    # How long a JetStream request (append, stream info) may take before it is retried.
    request_timeout_s: Annotated[float, Field(gt=0)] = 5.0
    # Who this process is to NATS: one user per role (one per host for collectors), whose
    # subject permissions the server enforces (deploy/nats/). None: no authentication.
    nats_user: str | None = None
    nats_password: SecretStr | None = None
    nats_creds: Path | None = None
    # TLS: the CA that signed the servers' certificates; a client certificate and key when
    # the servers verify clients too. Any of them switches TLS on.
    nats_tls_ca: Path | None = None
    nats_tls_cert: Path | None = None
    nats_tls_key: Annotated[Path | None, Field(validate_default=True)] = None

    @field_validator(
        "nats_user", "nats_password", "nats_creds", "nats_tls_ca", "nats_tls_cert",
        "nats_tls_key", mode="before",
    )  # fmt: skip
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `HAPLAN_NATS_USER=` in a shell or a compose file means "none", not a user "".
        return None if value == "" else value

    # Field validators (not a model validator) so that an error names its variable.
    @field_validator("nats_password")
    @classmethod
    def _password_has_user(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is not None and not info.data.get("nats_user"):
            raise ValueError("a password without HAPLAN_NATS_USER; set both or neither")
        return value

    @field_validator("nats_creds")
    @classmethod
    def _one_identity(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is not None and info.data.get("nats_user"):
            raise ValueError("give HAPLAN_NATS_USER or HAPLAN_NATS_CREDS, not both")
        return _readable(value)

    @field_validator("nats_tls_ca", "nats_tls_cert")
    @classmethod
    def _file(cls, value: Path | None) -> Path | None:
        return _readable(value)

    @field_validator("nats_tls_key")
    @classmethod
    def _key_with_cert(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if (value is None) != (info.data.get("nats_tls_cert") is None):
            raise ValueError("HAPLAN_NATS_TLS_CERT and HAPLAN_NATS_TLS_KEY go together")
        return _readable(value)

    @classmethod
    def private(
        cls, nats_url: str, user: str | None = None, password: str | None = None
    ) -> BusSettings:
        """A private server's settings: this user (or none), no TLS, whatever the
        environment says: `haplan up`'s own server (services.up.credentials)."""
        return cls(
            nats_url=nats_url, nats_user=user,
            nats_password=None if password is None else SecretStr(password),
            nats_creds=None, nats_tls_ca=None, nats_tls_cert=None, nats_tls_key=None,
        )  # fmt: skip

    @property
    def tls(self) -> bool:
        return self.nats_tls_ca is not None or self.nats_tls_cert is not None

    @field_validator("nats_url")
    @classmethod
    def _servers_listed(cls, value: str) -> str:
        servers = [s.strip() for s in value.split(",") if s.strip()]
        if not servers:
            raise ValueError("NATS_URL names no server; give e.g. nats://127.0.0.1:4222")
        for server in servers:
            _check_server(server)
        return ",".join(servers)

    @property
    def servers(self) -> list[str]:
        """The server URLs, a scheme added where the list gave only host:port."""
        return [s if "://" in s else f"nats://{s}" for s in self.nats_url.split(",")]
