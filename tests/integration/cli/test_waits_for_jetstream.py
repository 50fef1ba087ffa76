"""A command started with its NATS cluster (the compose stack's one-shot `pool create`) waits
for JetStream within HAPLAN_CONNECT_TIMEOUT_S: its first node accepts connections long
before the cluster has a JetStream meta leader and the peers an R3 stream needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from services.common.natsserver import NatsServer, free_port

pytestmark = pytest.mark.slow

POOL = Path(__file__).resolve().parents[3] / "deploy" / "pool.yaml"


def requests_from_clients(server: NatsServer) -> int:
    """Messages the server's clients have published to it (their JetStream requests); 0
    while its monitoring port is not up yet."""
    url = f"http://127.0.0.1:{server.monitor_port}/connz"
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            connz = json.loads(answer.read())
    except OSError:
        return 0
    return sum(int(c.get("in_msgs", 0)) for c in connz.get("connections") or [])


def test_pool_create_waits_for_a_forming_cluster(tmp_path: Path) -> None:
    """`haplan pool create` (R3, HAPLAN_CONNECT_TIMEOUT_S=120) is started against the one node
    of a 3-node cluster that runs; it asks JetStream, gets no answer, and asks again (the node
    counts its second request) instead of exiting; the other two nodes then start, and the
    command exits 0 with the pool in the log."""
    ports = [free_port() for _ in range(3)]
    first, *others = nodes = [
        NatsServer(name=f"n{i + 1}", cluster_port=port, routes=tuple(ports),
                   store_dir=tmp_path / f"n{i + 1}")
        for i, port in enumerate(ports)
    ]  # fmt: skip
    command: subprocess.Popen[str] | None = None
    try:
        first.start(wait=False)
        env = {**os.environ, "NATS_URL": first.url, "HAPLAN_STREAM_REPLICAS": "3",
               "HAPLAN_CONNECT_TIMEOUT_S": "120"}  # fmt: skip
        command = subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", "pool", "create", str(POOL)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        asked_again = False
        while command.poll() is None and time.monotonic() < deadline:
            if requests_from_clients(first) >= 2:
                asked_again = True
                break
            time.sleep(0.2)
        err = "" if command.poll() is None else command.communicate()[1]
        assert asked_again, f"the command did not ask JetStream again: exit {command.poll()} {err}"
        for server in others:
            server.start(wait=False)
        err = command.communicate(timeout=150)[1]
        assert command.returncode == 0, err
        events = subprocess.run(
            [sys.executable, "-m", "services.cli.main", "events", "--json"],
            env=env, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        types = [json.loads(line)["type"] for line in events.stdout.splitlines()]
        assert types[0] == "pool_created", types
    finally:
        if command is not None and command.poll() is None:
            command.kill()
            command.wait()
        for node in nodes:
            node.stop()
