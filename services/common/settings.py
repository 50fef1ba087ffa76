"""Settings of the bus side of every service, from the environment (pydantic-settings).

`NATS_URL` (spec/cli.md) names the servers, comma-separated; the rest are `HAPLAN_*`.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_NATS_URL = "nats://127.0.0.1:4222"


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
