"""Is a collector's fresh subscription heard at once, with one account and with one account per
host?

    .venv/bin/python bench/host_accounts.py [--runs 30]

On a fresh nats-server per run, lab1's collector subscribes to its orders (`ha.cmd.lab1`) and
flushes (the server answered the PING sent after the SUB), and the arbiter publishes an order
at once; then the same for a status request on `ha.status.lab1`. Two layouts: a single
account (users only, no permissions) and haplan's configuration (services.deploy.natsconf:
one account per host, the order and the request crossing accounts by import). Prints, per
layout, how many orders were not heard within 3 s and how many requests were answered "no
responders".

Seen on nats-server 2.15.1, nats-py, 2 heavily loaded cores (two runs of 30 each): one
account 4 lost, 3-4 unanswered; account per host 3-4 lost, 4 unanswered; with 0.3 s between
the flush and the publish, none (account per host, 30 runs). So the window belongs to the
server or the client, not to accounts: the account layout neither causes nor cures it
(docs/protocol.md, Per-credential limits).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

import nats
import nats.errors
from nats.aio.msg import Msg

from services.common.eventstore import JetStreamEventStore
from services.common.natsserver import NatsServer
from services.deploy.natsconf import render_server
from services.deploy.permissions import roles

HOSTS = ["lab1", "lab2", "lab3"]
PASSWORDS = {r.user: f"pw-{r.user}" for r in roles(HOSTS)}
ENV = {r.password_variable: PASSWORDS[r.user] for r in roles(HOSTS)}
_USERS = ", ".join(f'{{user: "{u}", password: "{p}"}}' for u, p in PASSWORDS.items())
ONE_ACCOUNT = f"authorization {{ users: [ {_USERS} ] }}\n"


async def one_run(server: NatsServer) -> tuple[bool, bool]:
    """(order heard, request answered)."""
    arbiter = await nats.connect(
        server.url, user="arbiter", password=PASSWORDS["arbiter"], inbox_prefix="_INBOX.arbiter"
    )
    operator = await nats.connect(
        server.url, user="operator", password=PASSWORDS["operator"],
        inbox_prefix="_INBOX.operator",
    )  # fmt: skip
    lab1 = await nats.connect(
        server.url, user="collector-lab1", password=PASSWORDS["collector-lab1"],
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
            await operator.request("ha.status.lab1", b"", timeout=10)
            answered = True
        except nats.errors.NoRespondersError:
            answered = False
        return heard, answered
    finally:
        for nc in (lab1, operator, arbiter):
            await nc.close()


def measure(runs: int, config_text: str) -> tuple[int, int]:
    lost = unanswered = 0
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as scratch:
            config = Path(scratch) / "server.conf"
            config.write_text(config_text)
            with NatsServer(config=config, store_dir=Path(scratch) / "nats", env=ENV) as server:
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
        ("account per host", render_server(HOSTS)),
    ):
        lost, unanswered = measure(runs, text)
        print(
            f"{label}: {lost} of {runs} orders lost, {unanswered} of {runs} status requests "
            "answered 'no responders', sent right after the subscriber's flush"
        )


if __name__ == "__main__":
    main()
