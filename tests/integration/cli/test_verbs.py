"""The operator verbs on a real nats-server: with no leader (or no planner) every one exits 69
saying what to start; against a leader each reply of the contract (docs/operations.md) becomes
its exit status and output, and the request on the wire carries exactly what was typed."""

from __future__ import annotations

import asyncio
import json

from schemas.ops import OpReply
from schemas.plan_hosts import host_rows
from services.common.natsserver import NatsServer
from services.planner import max_failures
from tests.fixtures.events import LAB_SIGNERS, lab_pool
from tests.fixtures.nats import connect_to
from tests.integration.cli.players import played_leader, played_planner
from tests.integration.cli.runner import haplan

VERBS = {
    ("pool", "ha-enable"): "ha-enable",
    ("pool", "ha-disable"): "ha-disable",
    ("pool", "set", "ha-host-failures-to-tolerate=1"): "pool-set",
    ("pool", "set", "ha-allow-overcommit=true"): "pool-set",
    ("vm", "set", "Minion 1", "ha-restart-priority="): "vm-set",
    ("vm", "start", "Minion 1", "--on", "lab2"): "vm-start",
    ("vm", "shutdown", "Minion 1"): "vm-shutdown",
    ("vm", "migrate", "Minion 1", "lab2"): "vm-migrate",
    ("host", "evacuate", "lab1"): "host-evacuate",
    ("host", "enable", "lab1"): "host-enable",
    ("host", "trust", "lab1", LAB_SIGNERS["lab1"].public): "host-trust",
    ("host", "power-on", "lab1"): "host-power-on",
}


async def test_every_verb_without_a_leader_exits_69_saying_to_start_one(
    nats_server: NatsServer,
) -> None:
    """NATS runs but no arbiter leads: each verb (one also with --json) exits 69 with one
    line naming its subject and telling to start an arbiter; nothing on stdout."""
    calls = [*VERBS, ("pool", "ha-enable", "--json")]
    runs = await asyncio.gather(*(haplan(*args, url=nats_server.url) for args in calls))
    for run in runs:
        verb = VERBS[tuple(a for a in run.args if a != "--json")]
        assert run.code == 69, (run.args, run.err)
        line = run.error_line()
        assert f"no arbiter leads the pool: nobody answers on ha.op.{verb}" in line, line
        assert "start `haplan arbiter`" in line
        assert run.out == ""


async def test_compute_max_failures_without_a_planner_exits_69(nats_server: NatsServer) -> None:
    """No planner replica: exit 69, one line telling to start `haplan planner`."""
    run = await haplan("pool", "compute-max-failures", "--json", url=nats_server.url)
    assert run.code == 69
    line = run.error_line()
    assert "no planner answers" in line and "start `haplan planner`" in line
    assert run.out == ""


async def test_without_nats_the_commands_exit_69(nats_server: NatsServer) -> None:
    """NATS itself down (a port nobody listens on): exit 69 with the NATS hint, for an
    operator request as for status, host status and compute-max-failures."""
    url = f"nats://127.0.0.1:{nats_server.port + 1}"
    calls = [("vm", "shutdown", "Minion 1"), ("status",), ("host", "status", "lab1"),
             ("pool", "compute-max-failures")]  # fmt: skip
    runs = await asyncio.gather(*(haplan(*args, url=url, connect_s=1) for args in calls))
    for run in runs:
        assert run.code == 69, (run.args, run.err)
        assert "cannot reach NATS" in run.error_line()


async def test_a_leader_that_does_not_handle_a_verb_is_named_as_such(
    nats_server: NatsServer,
) -> None:
    """A leader answers status but nobody answers ha.op.ha-enable (an older arbiter): exit
    69 with a message that says the leader lacks the verb, not that there is no leader."""
    nc = await connect_to(nats_server.url)
    try:
        async with played_leader(nc, {}, status={"pool": "Lab pool", "leader": "old"}):
            run = await haplan("pool", "ha-enable", url=nats_server.url)
    finally:
        await nc.close()
    assert run.code == 69
    assert "the arbiter leader does not handle ha-enable" in run.error_line()


async def test_replies_become_exit_statuses_and_requests_carry_what_was_typed(
    nats_server: NatsServer,
) -> None:
    """refused and conflict exit 1, invalid exits 2, each with the leader's error and hint on
    one line; the requests hold exactly the fields the operator gave."""
    replies = {
        "vm-set": OpReply(ok=False, code="refused", error="max failures would drop to 0 < 1",
                          hint="allow overcommit or free memory"),
        "pool-set": OpReply(ok=False, code="invalid", error="ntol 5 is more than hosts - 1",
                            hint="give at most 1"),
        "vm-shutdown": OpReply(ok=False, code="conflict", error="VM 'Minion 1' is already halted",
                               hint="nothing to do"),
    }  # fmt: skip
    nc = await connect_to(nats_server.url)
    try:
        async with played_leader(nc, replies) as leader:
            url = nats_server.url
            refused, invalid, conflict = await asyncio.gather(
                haplan("vm", "set", "Minion 1", "ha-restart-priority=restart", "order=2",
                       "start-delay=1.5", url=url),
                haplan("pool", "set", "ha-host-failures-to-tolerate=5", "ha-allow-overcommit=false",
                       url=url),
                haplan("vm", "shutdown", "Minion 1", "--json", url=url),
            )  # fmt: skip
    finally:
        await nc.close()
    assert refused.code == 1 and invalid.code == 2 and conflict.code == 1
    assert refused.error_line() == (
        "haplan: error: max failures would drop to 0 < 1 (allow overcommit or free memory)"
    )
    assert invalid.error_line() == "haplan: error: ntol 5 is more than hosts - 1 (give at most 1)"
    assert "already halted" in conflict.error_line() and conflict.out == ""
    assert sorted(leader.requests, key=lambda r: r[0]) == [
        ("pool-set", {"verb": "pool-set", "host_failures_to_tolerate": 5,
                      "allow_overcommit": False}),
        ("vm-set", {"verb": "vm-set", "vm": "Minion 1", "ha_restart_priority": "restart",
                    "order": 2, "start_delay_s": 1.5}),
        ("vm-shutdown", {"verb": "vm-shutdown", "vm": "Minion 1"}),
    ]  # fmt: skip


async def test_an_accepted_evacuation_shows_its_moves(nats_server: NatsServer) -> None:
    """ok with moves in the detail: exit 0; --json prints ok, the verb and the detail as the
    leader gave it; the table view lists each move."""
    detail = {"moves": [{"vm": "Minion 1", "host": "lab2"}]}
    nc = await connect_to(nats_server.url)
    try:
        async with played_leader(nc, {"host-evacuate": OpReply(ok=True, detail=detail)}) as leader:
            as_json, as_table = await asyncio.gather(
                haplan("host", "evacuate", "lab1", "--json", url=nats_server.url),
                haplan("host", "evacuate", "lab1", url=nats_server.url),
            )
    finally:
        await nc.close()
    assert as_json.code == 0 and as_table.code == 0, as_json.err + as_table.err
    assert as_json.json() == {"ok": True, "verb": "host-evacuate", "detail": detail}
    assert "Host lab1 is in maintenance" in as_table.out
    assert any("Minion 1" in line and "lab2" in line for line in as_table.out.splitlines())
    assert leader.requests == [("host-evacuate", {"verb": "host-evacuate", "host": "lab1"})] * 2


async def test_compute_max_failures_prints_the_planners_plan(nats_server: NatsServer) -> None:
    """The planner's answer to `planner.plan` with `{}` is printed as it is with --json, and
    with `haplan plan`'s tables without."""
    pool = lab_pool()
    plan = {**max_failures(pool).to_json(), "hosts": host_rows(pool)}
    nc = await connect_to(nats_server.url)
    try:
        async with played_planner(nc, json.dumps(plan).encode()) as requests:
            as_json, as_table = await asyncio.gather(
                haplan("pool", "compute-max-failures", "--json", url=nats_server.url),
                haplan("pool", "compute-max-failures", url=nats_server.url),
            )
    finally:
        await nc.close()
    assert as_json.code == 0 and as_table.code == 0, as_json.err + as_table.err
    assert as_json.json() == plan
    assert requests == [b"{}", b"{}"]
    assert "max host failures to tolerate" in as_table.out and "(exact)" in as_table.out


async def test_a_planner_without_a_pool_is_exit_69_with_its_message(
    nats_server: NatsServer,
) -> None:
    """A 503 service error (the log holds no pool) is one line with the planner's words and
    how to load a pool, exit 69."""
    headers = {"Nats-Service-Error-Code": "503", "Nats-Service-Error": "the log holds no pool yet"}
    nc = await connect_to(nats_server.url)
    try:
        async with played_planner(nc, b"", headers):
            run = await haplan("pool", "compute-max-failures", url=nats_server.url)
    finally:
        await nc.close()
    assert run.code == 69
    assert run.error_line() == (
        "haplan: error: the log holds no pool yet (load a pool with `haplan pool create POOL`)"
    )
