"""`haplan status` on a real nats-server: the leader's view from a real ArbiterService leading
the lab pool with two joined hosts, and the event log's view (leader null, a warning on
stderr) when no arbiter leads."""

from __future__ import annotations

from typing import Any

from schemas.events import HostJoined
from services.common.natsserver import NatsServer
from tests.fixtures.events import make
from tests.integration.arbiter.conftest import Pool
from tests.integration.arbiter.players import both_joined, eventually, status
from tests.integration.cli.players import leading_arbiter
from tests.integration.cli.runner import haplan

SPEC_KEYS = {"pool", "ha_enabled", "leader", "max_host_failures_to_tolerate",
             "host_failures_to_tolerate", "overcommitted", "hosts", "vms"}  # fmt: skip


async def test_status_json_is_the_leaders_view_of_the_lab_pool(pool: Pool) -> None:
    """With arbiter cli-a1 leading and lab1 (running Minion 1) and lab2 joined, `haplan
    status --json` exits 0 with the spec's keys: the leader's name, HA on, ntol 1, both
    hosts live and in the liveset, Minion 1 running on lab1; stderr stays empty."""
    async with leading_arbiter(pool.url, "cli-a1") as arbiter:
        await pool.host("lab1", ("Minion 1",))
        await pool.host("lab2")
        await both_joined(pool.store, pool.hosts)

        async def both_in_liveset() -> dict[str, Any] | None:
            answer = await status(pool.nc)
            in_liveset = {h["name"] for h in answer["hosts"] if h["in_liveset"]} if answer else {}
            return answer if in_liveset == {"lab1", "lab2"} else None

        await eventually(both_in_liveset, 30, "the leader counts lab1 and lab2 in its liveset")
        result = await haplan("status", "--json", url=pool.url)
        assert arbiter.leading
    assert result.code == 0, result.err
    assert result.err == ""
    shown = result.json()
    assert set(shown) >= SPEC_KEYS
    assert shown["pool"] == "Lab pool" and shown["leader"] == "cli-a1"
    assert shown["ha_enabled"] is True and shown["host_failures_to_tolerate"] == 1
    assert shown["overcommitted"] is False
    assert [(h["name"], h["state"], h["in_liveset"]) for h in shown["hosts"]] == [
        ("lab1", "live", True),
        ("lab2", "live", True),
    ]
    assert shown["vms"] == [{"name": "Minion 1", "host": "lab1", "power_state": "running",
        "ha_restart_priority": "restart", "order": 0, "memory_mib": 4160}]


async def test_the_status_table_names_the_leader_and_the_hosts(pool: Pool) -> None:
    """Without --json: the pool line with HA on and the leader, then the hosts and VMs."""
    async with leading_arbiter(pool.url, "cli-a2"):
        result = await haplan("status", url=pool.url)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith("Pool Lab pool: HA on") and "leader cli-a2" in lines[0]
    assert any(line.startswith("│ lab1") and "joining" in line for line in lines)
    assert any(line.startswith("│ Minion 1") and "running" in line for line in lines)


async def test_without_a_leader_status_shows_the_event_log(pool: Pool) -> None:
    """No arbiter: exit 0 with the log's view (`leader` null, lab1 live as its host_joined
    says, lab2 still joining) and one warning line on stderr, none of it in the JSON."""
    await pool.store.append([make(HostJoined, host="lab1", incarnation="lab1-boot")], 1)
    result = await haplan("status", "--json", url=pool.url)
    assert result.code == 0, result.err
    shown = result.json()
    assert set(shown) >= SPEC_KEYS and shown["leader"] is None
    assert [(h["name"], h["state"]) for h in shown["hosts"]] == [
        ("lab1", "live"),
        ("lab2", "joining"),
    ]
    assert shown["vms"] == [{"name": "Minion 1", "host": "lab1", "power_state": "running",
        "ha_restart_priority": "restart", "order": 0, "memory_mib": 4160}]
    warning = result.err.strip().splitlines()
    assert len(warning) == 1 and warning[0].startswith("haplan: warning: no arbiter leads")


async def test_status_falls_back_to_the_log_once_the_leader_stops(pool: Pool) -> None:
    """A leader that stopped answers nothing more: the next `haplan status` shows the log,
    which now records that leader's election, with `leader` null."""
    async with leading_arbiter(pool.url, "cli-a3"):
        led = await haplan("status", "--json", url=pool.url)
    after = await haplan("status", "--json", url=pool.url)
    assert led.json()["leader"] == "cli-a3"
    assert after.code == 0 and after.json()["leader"] is None
    assert after.json()["pool"] == "Lab pool"
    assert "no arbiter leads" in after.err


async def test_status_of_an_empty_log_says_to_load_a_pool(nats_server: NatsServer) -> None:
    """No pool and no leader: one error line saying how to load a pool, exit 2."""
    result = await haplan("status", url=nats_server.url)
    assert result.code == 2
    assert "holds no pool" in result.error_line() and "haplan pool create" in result.error_line()
