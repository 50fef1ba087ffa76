"""`haplan up` runs the permission model of the compose stack: its nats-server refuses
connections without a user, each process has its own user and nobody else's, a collector's
credential may not append events nor send orders, the credentials are readable by their owner
only, the server has the deployment's limits, and commands of another terminal find the
operator's credential through the runtime file. One `up` for the module."""

from __future__ import annotations

import asyncio
import json
import re
import stat
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client

from services.up.credentials import Credential, read_credential
from tests.fixtures.nats import connect_to
from tests.integration.up.harness import Up, haplan

MARK = "forged-by-the-test"


@pytest.fixture(scope="module")
def secured() -> Iterator[Up]:
    running = Up()
    try:
        running.started()
        yield running
    finally:
        running.close()


def _credential(up: Up, user: str) -> Credential:
    return read_credential(up.runtime / "credentials" / f"{user}.json")


async def _connect(up: Up, refused: list[str], cred: Credential | None) -> Client:
    assert up.record is not None

    async def error_cb(exc: Exception) -> None:
        refused.append(str(exc).lower())

    who = {} if cred is None else {"user": cred.user, "password": cred.password}
    return await connect_to(
        up.record.nats_url, error_cb=error_cb, allow_reconnect=False, connect_timeout=5,
        inbox_prefix=f"_INBOX.{who.get('user', 'anonymous')}", **who,
    )  # fmt: skip


async def _refusal_of(nc: Client, refused: list[str], subject: str) -> bool:
    """Whether the server refused a publish to `subject` (its -ERR follows the message)."""
    said = f'permissions violation for publish to "{subject}"'
    for _ in range(60):
        await nc.flush(timeout=5)
        if any(said in r for r in refused):
            return True
        await asyncio.sleep(0.05)
    return False


async def test_a_connection_without_a_user_or_with_a_wrong_password_is_refused(
    secured: Up,
) -> None:
    """No credentials, and the operator's user with a wrong password: the server refuses
    the connection (authorization violation)."""
    operator = _credential(secured, "operator")
    for cred in (None, Credential(operator.user, "0" * 32)):
        refused: list[str] = []
        with pytest.raises(Exception) as failed:
            nc = await _connect(secured, refused, cred)
            await nc.close()
        said = " ".join([str(failed.value).lower(), *refused])
        assert "authorization violation" in said, said


async def test_a_collector_may_not_append_events_nor_send_orders(secured: Up) -> None:
    """lab2's collector credential connects and may publish its own heartbeat subject, but
    the server refuses its publishes on `ha.evt.*` (the event log) and `ha.cmd.*` (orders to
    lab1, and to itself), and nothing it sent reaches the event log."""
    refused: list[str] = []
    nc = await _connect(secured, refused, _credential(secured, "collector-lab2"))
    try:
        forged = ("ha.evt.host", "ha.evt.vm", "ha.cmd.lab1", "ha.cmd.lab2")
        for subject in forged:
            await nc.publish(subject, json.dumps({"mark": MARK}).encode())
        for subject in forged:
            assert await _refusal_of(nc, refused, subject), (subject, refused)
        await nc.publish("ha.report.lab2", b"{}")  # its own subject: not refused
        await nc.flush(timeout=5)
        assert not any('"ha.report.lab2"' in r for r in refused), refused
    finally:
        await nc.close()
    log = secured.haplan("events", "--json")
    assert log.returncode == 0, log.stderr
    assert log.stdout.strip() and MARK not in log.stdout


def test_the_credentials_are_readable_by_their_owner_only(secured: Up) -> None:
    """The runtime directory and its credentials directory are 0700, every file in the
    latter 0600; the runtime file names the operator's credential file there."""
    directory = secured.runtime / "credentials"
    assert stat.S_IMODE(secured.runtime.stat().st_mode) == 0o700
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    files = list(directory.iterdir())
    assert {p.name for p in files} >= {"operator.json", "collector-lab1.json", "nats.conf"}
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert secured.record is not None
    assert Path(secured.record.operator) == directory / "operator.json"


def _connections(up: Up) -> list[dict[str, object]] | None:
    """The server's client connections with their users (its monitoring endpoint, whose
    port its log names), or None while it cannot be read."""
    said = (up.runtime / "nats" / "nats-server.log").read_text(errors="replace")
    port = re.search(r"http monitor on [^\s]*:(\d+)", said)
    if port is None:
        return None
    url = f"http://127.0.0.1:{port.group(1)}/connz?auth=true&limit=1024"
    with urllib.request.urlopen(url, timeout=5) as answer:
        conns: list[dict[str, object]] = json.load(answer)["connections"]
    return conns


def test_up_shows_the_pool_as_the_operator_not_the_admin(secured: Up) -> None:
    """Once the pool is loaded, up's own connection (its view) is the operator's, and no
    connection of the run holds the admin user, which may load pools and keep the log."""
    conns = secured.eventually(
        lambda: [c for c in _connections(secured) or [] if c.get("name") == "haplan-up"] or None,
        30, "up's view connected",
    )  # fmt: skip
    assert [c.get("authorized_user") for c in conns] == ["operator"]
    everyone = _connections(secured) or []
    assert not [c for c in everyone if c.get("authorized_user") == "admin"], everyone


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def test_each_process_has_its_own_user_and_no_other_password(secured: Up) -> None:
    """lab1's collector, the arbiter and the planner run as their own users, with their
    own passwords, and none of them holds another user's password."""
    files = (secured.runtime / "credentials").glob("*.json")
    everyone = {p.stem: read_credential(p) for p in files}
    for member, user in (("lab1", "collector-lab1"), ("arbiter", "arbiter"),
                         ("planner", "planner")):  # fmt: skip
        pid = secured.eventually(lambda m=member: secured.notes(m), 30, f"{member} started")
        env = _environ(pid[-1]["pid"])
        assert env["HAPLAN_NATS_USER"] == user
        assert env["HAPLAN_NATS_PASSWORD"] == everyone[user].password
        others = {c.password for u, c in everyone.items() if u != user}
        assert not others & set(env.values())


async def test_the_server_has_the_deployments_limits(secured: Up) -> None:
    """up's server announces the deployment's max_payload (512 KB, deploy/nats/node.conf),
    not the server's default of 1 MB."""
    nc = await _connect(secured, [], _credential(secured, "operator"))
    try:
        assert nc.max_payload == 512 * 1024
    finally:
        await nc.close()


def test_status_from_another_terminal_finds_the_operator_credential(secured: Up) -> None:
    """`haplan status --json` and `haplan host status lab1 --json` from another terminal,
    with no flag and no NATS_URL, answer through discovery, even when that terminal's
    environment names another user (its credentials are for other servers)."""
    env = {**secured.env, "HAPLAN_NATS_USER": "admin", "HAPLAN_NATS_PASSWORD": "not-up's"}

    def answered() -> dict[str, object] | None:
        done = secured.haplan("status", "--json")
        if done.returncode != 0:
            return None
        answer: dict[str, object] = json.loads(done.stdout)
        return answer if answer.get("leader") else None

    assert secured.eventually(answered, 60, "a status with a leader")["pool"] == "Lab pool"
    other = haplan(env, "status", "--json")
    assert other.returncode == 0, other.stderr
    assert json.loads(other.stdout)["pool"] == "Lab pool"
    host = secured.haplan("host", "status", "lab1", "--json")
    assert host.returncode == 0, host.stderr
