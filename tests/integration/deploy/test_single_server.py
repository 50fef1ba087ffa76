"""The shipped NATS configuration on one real nats-server (deploy/nats/haplan.conf, and
haplan-tls.conf for TLS): what the compose topology's tests do not reach, an empty log and a
long one, and TLS."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from nats.aio.client import Client

from schemas.events import NtolSet
from services.common.bus import connect
from services.common.eventstore import JetStreamEventStore
from services.common.natsserver import NatsServer
from services.common.settings import BusSettings
from services.deploy.permissions import roles
from tests.fixtures.tls import make_tls_files

ROOT = Path(__file__).resolve().parents[3]
NATS_DIR = ROOT / "deploy" / "nats"
POOL = ROOT / "deploy" / "pool.yaml"
HOSTS = ["lab1", "lab2", "lab3"]
PASSWORDS = {r.password_variable: f"pw-{r.user}" for r in roles(HOSTS)}


def haplan(url: str, user: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("HAPLAN_", "NATS"))}
    environment.update(NATS_URL=url, HAPLAN_NATS_USER=user, HAPLAN_NATS_PASSWORD=f"pw-{user}",
                       HAPLAN_REQUEST_TIMEOUT_S="1", **env)  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "services.cli.main", *args], env=environment, cwd=ROOT,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.fixture
def secured() -> Iterator[NatsServer]:
    """One nats-server with the shipped users and permissions (haplan.conf)."""
    server = NatsServer(config=NATS_DIR / "haplan.conf", env=PASSWORDS)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_only_the_admin_loads_the_pool(secured: NatsServer) -> None:
    """On an empty log the operator's `pool create` is refused by the server (exit 77, the
    refused subject named, one line); the admin's lands; the operator then reads it."""
    refused = haplan(secured.url, "operator", "pool", "create", str(POOL))
    assert refused.returncode == 77, refused.stderr
    assert "permissions violation" in refused.stderr and len(refused.stderr.splitlines()) == 1
    loaded = haplan(secured.url, "admin", "pool", "create", str(POOL), "--json")
    assert loaded.returncode == 0, loaded.stderr
    assert json.loads(loaded.stdout)["created"] is True
    exported = haplan(secured.url, "operator", "pool", "export", "--format", "json")
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["name"] == "Compose pool"


async def test_a_reader_follows_a_long_log_under_flow_control(secured: NatsServer) -> None:
    """The operator (which answers no requests) reads 20,000 events: the ordered consumer's
    flow-control replies on $JS.FC are allowed, so the read never stalls."""
    count = 20_000
    arbiter = await _connect_as(secured, "arbiter")
    try:
        store = await JetStreamEventStore.open(arbiter)
        at = datetime.now(UTC)
        for start in range(0, count, 1000):
            batch = [NtolSet(event_id=str(uuid.uuid4()), at=at, epoch=1,
                             host_failures_to_tolerate=1) for _ in range(1000)]  # fmt: skip
            await store.append(batch, start)
    finally:
        await arbiter.close()
    operator = await _connect_as(secured, "operator")
    try:
        reader = await JetStreamEventStore.open(operator)
        seen = await asyncio.wait_for(_count(reader), 30)
    finally:
        await operator.close()
    assert seen == count


async def _connect_as(server: NatsServer, user: str) -> Client:
    settings = BusSettings(nats_url=server.url, nats_user=user, nats_password=f"pw-{user}")
    return await connect(settings, name="t", initial_timeout_s=5)


async def _count(store: JetStreamEventStore) -> int:
    return len([r async for r in store.read()])


def test_tls_is_switched_on_in_the_config(tmp_path: Path) -> None:
    """With haplan-tls.conf the server speaks TLS only: a client given the CA
    (HAPLAN_NATS_TLS_CA) works; one without it is refused in one line naming that variable
    (exit 77)."""
    files = make_tls_files(tmp_path)
    env = {**PASSWORDS, "HAPLAN_TLS_CERT": str(files.cert), "HAPLAN_TLS_KEY": str(files.key),
           "HAPLAN_TLS_CA": str(files.ca)}  # fmt: skip
    with NatsServer(config=NATS_DIR / "haplan-tls.conf", env=env) as server:
        ok = haplan(server.url, "admin", "events", "--json", HAPLAN_NATS_TLS_CA=str(files.ca))
        assert ok.returncode == 0, ok.stderr
        plain = haplan(server.url, "admin", "events", "--json")
        assert plain.returncode == 77, plain.stderr
        assert "TLS" in plain.stderr and "HAPLAN_NATS_TLS_CA" in plain.stderr
        assert len(plain.stderr.strip().splitlines()) == 1
