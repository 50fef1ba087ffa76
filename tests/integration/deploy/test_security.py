"""The shipped permission model on the running compose topology (three real nats-servers with
deploy/nats/, every service with its own user): each role stays in its lane, wrong
credentials are refused in one line, and malformed or oversize messages are refused or
counted while the services keep running."""

from __future__ import annotations

import asyncio
import re
import socket
import urllib.request
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import nats.errors
import nats.js.errors
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from tests.fixtures.nats import connect_to
from tests.integration.deploy.stack import SERVICES, Stack

OVERSIZE = 600 * 1024  # over deploy/nats/node.conf's max_payload (512 KB)
MARK = b'{"from": "the test, not a collector"}'
END = b'{"from": "the test, its last message"}'
# How long a refusal or a count may take to show on a loaded machine; the waits end as soon
# as it shows.
SHOWS_S = 30.0


class Identity:
    """A NATS client as one compose service's user, recording what the server refused."""

    def __init__(self, stack: Stack, service: str) -> None:
        env = stack.spec(service).env
        self.urls = env["NATS_URL"].split(",")
        self.user, self.password = env["HAPLAN_NATS_USER"], env["HAPLAN_NATS_PASSWORD"]
        self.refused: list[str] = []

    async def connect(self) -> Client:
        async def error_cb(exc: Exception) -> None:
            self.refused.append(str(exc))

        return await connect_to(
            self.urls, user=self.user, password=self.password, error_cb=error_cb,
            inbox_prefix=f"_INBOX.{self.user}", allow_reconnect=False,
        )  # fmt: skip

    async def was_refused(
        self, nc: Client, subject: str, *, sub: bool = False, wait_s: float = SHOWS_S
    ) -> bool:
        """Whether the server refused `subject` (its -ERR arrives after the message; waits
        up to `wait_s` for it)."""
        # nats-py hands the server's words over in lower case.
        said = f'permissions violation for {"subscription" if sub else "publish"} to "{subject}"'
        deadline = asyncio.get_running_loop().time() + wait_s
        while True:
            await nc.flush(timeout=5)
            if any(said.lower() in r.lower() for r in self.refused):
                return True
            if asyncio.get_running_loop().time() >= deadline:
                return False
            await asyncio.sleep(0.05)


@pytest.fixture
async def arbiter_watch(stack: Stack) -> AsyncIterator[tuple[Client, list[tuple[str, bytes]]]]:
    """An observer with the arbiter's rights, hearing what collectors say."""
    nc = await Identity(stack, "arbiter-1").connect()
    heard: list[tuple[str, bytes]] = []

    async def hear(msg: Msg) -> None:
        heard.append((msg.subject, msg.data))

    await nc.subscribe("ha.hb.*", cb=hear)
    await nc.flush()
    try:
        yield nc, heard
    finally:
        await nc.close()


async def test_a_collector_cannot_speak_for_another_host(
    stack: Stack, arbiter_watch: tuple[Client, list[tuple[str, bytes]]]
) -> None:
    """collector-lab1 may publish lab1's heartbeat but not lab2's, nor send orders to any
    host; the server refuses each with a permissions violation and nobody hears it."""
    _, heard = arbiter_watch
    lab1 = Identity(stack, "lab1")
    nc = await lab1.connect()
    try:
        await nc.publish("ha.hb.lab1", MARK)
        await nc.publish("ha.hb.lab2", MARK)
        for subject in ("ha.cmd.lab2", "ha.cmd.lab1", "ha.arb.beacon", "ha.sto.lab2"):
            await nc.publish(subject, MARK)
        assert await lab1.was_refused(nc, "ha.hb.lab2")
        for subject in ("ha.cmd.lab2", "ha.cmd.lab1", "ha.arb.beacon", "ha.sto.lab2"):
            assert await lab1.was_refused(nc, subject), subject
        # Published before the refused ones, so the server had its say on it already.
        assert not await lab1.was_refused(nc, "ha.hb.lab1", wait_s=0)
        await nc.subscribe("ha.cmd.lab2")
        assert await lab1.was_refused(nc, "ha.cmd.lab2", sub=True)
        # Sent last on the one route a heartbeat takes: once heard, anything sent before it
        # that was to be heard has been.
        await nc.publish("ha.hb.lab1", END)
        await nc.flush()
    finally:
        await nc.close()
    await _until(lambda: END in [data for _, data in heard], "lab1's last heartbeat heard")
    marked = [subject for subject, data in heard if data == MARK]
    assert marked == ["ha.hb.lab1"]


async def test_a_collector_cannot_append_events_or_take_the_leader_lease(stack: Stack) -> None:
    """collector-lab1's append to the event log, its write of the leader lease and of lab2's
    lease are refused; the log holds nothing of it and the leader stays an arbiter."""
    lab1 = Identity(stack, "lab1")
    nc = await lab1.connect()
    try:
        js = nc.jetstream(timeout=1)
        for subject in ("ha.evt.vm.intruder", "$KV.ha_leases.arbiter", "$KV.ha_leases.host.lab2"):
            with pytest.raises(nats.errors.TimeoutError):  # refused: nobody acknowledges
                await js.publish(subject, b'{"arbiter": "lab1"}')
            assert await lab1.was_refused(nc, subject), subject
    finally:
        await nc.close()
    arbiter = await Identity(stack, "arbiter-1").connect()
    try:
        js = arbiter.jetstream(timeout=5)
        with pytest.raises(nats.js.errors.NotFoundError):
            await js.get_last_msg("HA_EVENTS", "ha.evt.vm.intruder")
        kv = await js.key_value("ha_leases")
        assert b"lab1" not in ((await kv.get("arbiter")).value or b"")
    finally:
        await arbiter.close()
    # A leader change under load is no failure; a collector among the leaders would be.
    assert stack.status()["leader"] in ("arbiter-1", "arbiter-2")


async def _until(holds: Callable[[], object], what: str) -> None:
    """Wait for `holds()` to be true, up to SHOWS_S."""
    deadline = asyncio.get_running_loop().time() + SHOWS_S
    while not holds():
        assert asyncio.get_running_loop().time() < deadline, f"not within {SHOWS_S} s: {what}"
        await asyncio.sleep(0.05)


def _one_line_refusal(result: object, *words: str) -> str:
    code, stderr = result.returncode, result.stderr  # type: ignore[attr-defined]
    assert code == 77, (code, stderr)
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr, stderr
    for word in words:
        assert word in stderr, (word, stderr)
    return str(stderr)


def test_wrong_or_missing_credentials_are_refused_in_one_line(stack: Stack, tmp_path: Path) -> None:
    """A wrong password, no credentials at all, and a collector started with a wrong
    password each end at once with exit 77 and one line naming what to check."""
    wrong = stack.run("cli", env={"HAPLAN_NATS_PASSWORD": "not-the-password"})
    _one_line_refusal(wrong, "refused user 'operator'", "HAPLAN_NATS_PASSWORD")
    anonymous = stack.run("cli", env={"HAPLAN_NATS_USER": "", "HAPLAN_NATS_PASSWORD": ""})
    _one_line_refusal(anonymous, "without credentials", "HAPLAN_NATS_USER")
    # lab1's collector with its own store and no metrics port: the real one keeps running.
    args = ("collector", "--host", "lab1", "--store", str(tmp_path), "--store-local",
            "--vm-driver", "sim")  # fmt: skip
    collector = stack.run("lab1", *args, env={"HAPLAN_NATS_PASSWORD": "guess"}, timeout=30)
    _one_line_refusal(collector, "refused user 'collector-lab1'")


def test_a_role_refused_a_subject_says_so_at_once(stack: Stack) -> None:
    """A collector's credentials asking for the pool's status (an operator request) are
    refused by the server: exit 77 naming the refused subject at once, not a wait for an
    answer that cannot come."""
    lab1 = stack.spec("lab1").env
    as_collector = stack.run(
        "cli", env={k: lab1[k] for k in ("HAPLAN_NATS_USER", "HAPLAN_NATS_PASSWORD")}
    )
    _one_line_refusal(as_collector, 'publish to "ha.op.status"')


def _malformed(stack: Stack, service: str, kind: str) -> float:
    port = stack.view.ports(service, 9100)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    pattern = rf'haplan_arbiter_malformed_messages_total{{subject="{kind}"}} (\S+)'
    found = re.search(pattern, text)
    return float(found.group(1)) if found else 0.0


async def test_garbage_a_role_may_send_is_counted_and_oversize_is_refused(
    stack: Stack,
) -> None:
    """Garbage on a subject lab1 may publish (its heartbeat) is counted by both arbiters,
    each message that is read (one at a time: heartbeats queued together are coalesced to
    the newest, docs/protocol.md, Bounded inputs); a message over max_payload is refused by
    the client library (which learned the limit from the server) and, sent raw, by the
    server, which drops that connection; and after all of it every service still runs and
    the pool is live."""
    arbiters = ("arbiter-1", "arbiter-2")
    lab1 = Identity(stack, "lab1")
    nc = await lab1.connect()
    try:
        assert nc.max_payload == 512 * 1024
        for _ in range(3):
            before = {a: _malformed(stack, a, "hb") for a in arbiters}
            await nc.publish("ha.hb.lab1", b"\x00 not a heartbeat")
            await nc.flush()
            for arbiter, count in before.items():
                await _until(
                    lambda a=arbiter, c=count: _malformed(stack, a, "hb") >= c + 1, arbiter
                )
        with pytest.raises(nats.errors.MaxPayloadError):
            await nc.publish("ha.hb.lab1", b"x" * OVERSIZE)
    finally:
        await nc.close()
    host, port = lab1.urls[0].removeprefix("nats://").split(":")
    assert "Maximum Payload" in _raw_oversize(host, int(port), lab1.user, lab1.password)
    status = stack.wait_live(hosts=3, timeout=30)
    assert status["leader"] in ("arbiter-1", "arbiter-2")
    for service in SERVICES:
        stack.assert_alive(service)


def _raw_oversize(host: str, port: int, user: str, password: str) -> str:
    """Speak the NATS protocol by hand: an honest CONNECT, then a PUB over max_payload.
    What the server answers before it closes the connection."""
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.recv(4096)  # INFO
        connect = f'CONNECT {{"user":"{user}","pass":"{password}","verbose":false}}\r\n'
        sock.sendall(connect.encode() + b"PING\r\n")
        assert b"PONG" in sock.recv(4096)
        sock.sendall(f"PUB ha.hb.lab1 {OVERSIZE}\r\n".encode())
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
        return answer.decode(errors="replace")
