"""Is a collector's fresh subscription heard at once, with one account and with one account per
host?

    .venv/bin/python bench/host_accounts.py [--runs 30]

On a fresh nats-server per run, lab1's collector subscribes to its orders (`ha.cmd.lab1`) and
flushes (the server answered the PING sent after the SUB), and the arbiter publishes an order
at once; then the same for a status request on `ha.status.lab1`. Two layouts: today's single
account (users only) and the account-per-host layout of tests/integration/deploy/
host_accounts.py (the order and the request cross accounts by import). Prints, per layout, how
many orders were not heard within 3 s and how many requests were answered "no responders".

Seen on nats-server 2.15.1, nats-py, 2 heavily loaded cores (two runs of 30 each): one
account 4 lost, 3-4 unanswered; account per host 3-4 lost, 4 unanswered; with 0.3 s between
the flush and the publish, none (account per host, 30 runs). So the window belongs to the
server or the client, not to accounts: the account layout neither causes nor cures it
(docs/protocol.md, Per-credential limits).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

import nats
import nats.errors
from nats.aio.msg import Msg

if __package__ in (None, ""):  # run as a script: make `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.common.eventstore import JetStreamEventStore
from services.common.natsserver import NatsServer
from tests.integration.deploy import host_accounts

HOSTS = ["lab1", "lab2", "lab3"]
ONE_ACCOUNT = (
    'authorization { users: [ {user: "arbiter", password: "arbiter"}, '
    '{user: "collector-lab1", password: "collector-lab1"} ] }\n'
)


async def one_run(server: NatsServer) -> tuple[bool, bool]:
    """(order heard, request answered)."""
    arbiter = await nats.connect(server.url, user="arbiter", password="arbiter")
    lab1 = await nats.connect(
        server.url, user="collector-lab1", password="collector-lab1",
        inbox_prefix="_INBOX.collector-lab1",
    )  # fmt: skip
    try:
        await JetStreamEventStore.open(arbiter)
        await lab1.jetstream(timeout=10).stream_info("HA_EVENTS")
        orders: asyncio.Queue[Msg] = asyncio.Queue()
        await lab1.subscribe("ha.cmd.lab1", cb=orders.put)
        await lab1.flush()
        await arbiter.publish("ha.cmd.lab1", b"order")
        try:
            await asyncio.wait_for(orders.get(), 3.0)
            heard = True
        except TimeoutError:
            heard = False

        async def answer(msg: Msg) -> None:
            await msg.respond(b"status")

        await lab1.subscribe("ha.status.lab1", cb=answer)
        await lab1.flush()
        try:
            await arbiter.request("ha.status.lab1", b"", timeout=10)
            answered = True
        except nats.errors.NoRespondersError:
            answered = False
        return heard, answered
    finally:
        await lab1.close()
        await arbiter.close()


def measure(runs: int, config_text: str) -> tuple[int, int]:
    lost = unanswered = 0
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as scratch:
            config = Path(scratch) / "server.conf"
            config.write_text(config_text)
            with NatsServer(config=config, store_dir=Path(scratch) / "nats") as server:
                heard, answered = asyncio.run(one_run(server))
        lost += not heard
        unanswered += not answered
    return lost, unanswered


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    runs = parser.parse_args().runs
    for label, text in (
        ("one account", ONE_ACCOUNT),
        ("account per host", host_accounts.render(HOSTS)),
    ):
        lost, unanswered = measure(runs, text)
        print(
            f"{label}: {lost} of {runs} orders lost, {unanswered} of {runs} status requests "
            "answered 'no responders', sent right after the subscriber's flush"
        )


if __name__ == "__main__":
    main()
