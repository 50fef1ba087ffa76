"""`haplan planner` as an operator runs it: found on the bus, metrics on its port, JSON logs
on stderr, a clean exit on SIGTERM; exit 69 with one line when NATS is not there."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from schemas import pool_to_data
from services.common.natsserver import NatsServer, free_port
from tests.fixtures.events import lab_pool
from tests.fixtures.nats import connect_to
from tests.integration.planner.conftest import gather_replies, raise_service_error, request_to

ROOT = Path(__file__).resolve().parents[3]


def haplan(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "HAPLAN_CONNECT_TIMEOUT_S": "1"}
    env.pop("NATS_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_unreachable_nats_at_start_exits_69_with_one_line() -> None:
    """No NATS on the given URL: exit status 69 and a single line saying which URL failed,
    no traceback."""
    url = f"nats://127.0.0.1:{free_port()}"
    proc = haplan("planner", "--nats", url)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 69, err
    lines = [line for line in err.splitlines() if line.startswith("haplan: error:")]
    assert len(lines) == 1 and url in lines[0], err
    assert "Traceback" not in err


async def scrape(port: int) -> str:
    def get() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
            return str(reply.read().decode())

    return await asyncio.to_thread(get)


async def test_the_command_serves_pings_requests_and_metrics_until_sigterm(
    nats_server: NatsServer,
) -> None:
    """`haplan planner --id P --metrics-port N` answers $SRV.PING.planner and a plan request,
    exposes its request counter and plan gauges on /metrics, logs JSON lines, and exits 0 on
    SIGTERM."""
    port = free_port()
    proc = haplan("planner", "--nats", nats_server.url, "--id", "cmd-1",
                  "--metrics-port", str(port), "--metrics-addr", "127.0.0.1")  # fmt: skip
    nc = await connect_to(nats_server.url)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        pings: list[dict[str, object]] = []
        while not pings:
            assert proc.poll() is None, proc.communicate()[1]
            assert loop.time() < deadline, "the planner never answered a PING"
            pings = await gather_replies(nc, "$SRV.PING.planner", wait_s=0.3)
        assert pings[0]["metadata"] == {"replica": "cmd-1"}
        request = json.dumps({"pool": pool_to_data(lab_pool())}).encode()
        reply = await request_to(nc, "planner.plan", request, timeout=30)
        raise_service_error(reply)
        assert json.loads(reply.data)["max_host_failures_to_tolerate"] == 1
        metrics = await scrape(port)
        assert 'haplan_planner_requests_total{endpoint="plan",outcome="ok"} 1.0' in metrics
        assert "haplan_planner_max_host_failures_to_tolerate -1.0" in metrics  # no plan yet
        assert "haplan_planner_plan_compute_seconds_bucket" in metrics
    finally:
        await nc.close()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    logged = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    events = [entry["event"] for entry in logged]
    assert "planner ready" in events and events[-1] == "planner stopped"
