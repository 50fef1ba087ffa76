"""docker-compose.yml's own commands and environment run the pool: three NATS nodes
(JetStream R3, each with the shipped configuration and users), two arbiters, two planners and
three collectors, each process given its own credentials by the compose file."""

from __future__ import annotations

import json

from tests.integration.deploy.conftest import LIVE_TIMEOUT_S
from tests.integration.deploy.stack import NATS_NODES, SERVICES, Stack


def test_the_compose_topology_runs_the_pool(stack: Stack) -> None:
    """`haplan status --json` (the compose file's `cli` service, as the operator user) shows the
    compose pool with its three hosts live, a leader among the two arbiters, and its VMs
    running."""
    status = stack.wait_live(hosts=3, timeout=LIVE_TIMEOUT_S)
    assert status["pool"] == "Compose pool"
    assert {h["name"]: h["state"] for h in status["hosts"]} == {
        "lab1": "live", "lab2": "live", "lab3": "live",
    }  # fmt: skip
    assert status["leader"] in ("arbiter-1", "arbiter-2")
    assert status["ha_enabled"] is True
    assert {v["name"] for v in status["vms"]} == {"Minion 1", "Minion 2", "Builder"}


def test_every_healthcheck_of_the_compose_file_passes(stack: Stack) -> None:
    """Each service's healthcheck command, as written in the compose file, exits 0 against
    its running process; and fails once that process is gone (checked on a NATS node's
    check pointed at a port nobody serves)."""
    for service in (*NATS_NODES, *SERVICES):
        result = stack.health(service)
        assert result.returncode == 0, (service, result.stdout, result.stderr)
    nobody = stack.run("cli", "deploy", "health", "http://127.0.0.1:9/healthz")
    assert nobody.returncode == 1 and "does not answer" in nobody.stdout


def test_the_pool_create_service_is_a_no_op_the_second_time(stack: Stack) -> None:
    """pool-create, restarted by its policy or run again, loads nothing twice: exit 0 and
    `created: false`."""
    again = stack.run("pool-create", "pool", "create", "/pool/pool.yaml", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["created"] is False
