"""`haplan host list`, `haplan vm list` and `haplan vm migrate` against a running pool (real
collectors with process VMs, a real `haplan arbiter` leading, a real nats-server, T = 2 s).
What the lists show and what a migration does are checked against the event log and the VMs'
disk logs (no instance of a VM writing while another does: no split brain)."""

from __future__ import annotations

import asyncio

from schemas.events import VMEvacuated, VMRestartOrdered, VMStarted
from schemas.pool import VM, HAConfig, Host, Pool
from tests.fixtures.disks import overlaps, writers
from tests.integration.cli.runner import haplan
from tests.integration.system.conftest import System, T

HOSTS = ("h1", "h2", "h3")


def _pool() -> Pool:
    """ntol 1 holds (h3's c can restart on the empty h2; a and tiny fit anywhere), but moving
    a onto h2 would leave no host with room for c (h1 keeps web): that is the refused move."""
    return Pool(
        name="cli-migrate",
        ha=HAConfig(host_failures_to_tolerate=1, timeout_s=T),
        hosts=tuple(Host(name=h, memory_mib=4096) for h in HOSTS),
        vms=(
            VM(name="a", memory_mib=2048, host="h1", ha_restart_priority="restart"),
            VM(name="web", memory_mib=1536, host="h1"),
            VM(name="tiny", memory_mib=256, host="h2"),
            VM(name="c", memory_mib=3072, host="h3", ha_restart_priority="restart"),
        ),
    )


async def _all_started(system: System) -> None:
    deadline = asyncio.get_running_loop().time() + 30
    while {e.vm for e in await system.of(VMStarted)} != {"a", "web", "tiny", "c"}:
        assert asyncio.get_running_loop().time() < deadline, "the pool's VMs did not start"
        await asyncio.sleep(0.1)
    await system.leading()


async def _all_live(url: str) -> list[dict[str, object]]:
    while True:
        rows = (await haplan("host", "list", "--json", url=url)).json()
        if all(h["in_liveset"] for h in rows):
            return list(rows)
        await asyncio.sleep(0.2)


async def test_host_list_and_vm_list_show_the_running_pool_filtered(system: System) -> None:
    """`host list --json` has every host live with its VM counts, `--state dead` none; `vm
    list` filters by host, power state and priority (`--protected`), an unknown `--host` is
    exit 2 with one line; the tables name the hosts and VMs."""
    await system.start(_pool())
    await _all_started(system)
    url = system.url
    hosts = await asyncio.wait_for(_all_live(url), 30)
    assert [(h["name"], h["state"], h["vms"], h["protected_vms"]) for h in hosts] == [
        ("h1", "live", 2, 1), ("h2", "live", 1, 0), ("h3", "live", 1, 1),
    ]  # fmt: skip
    assert (await haplan("host", "list", "--state", "dead", "--json", url=url)).json() == []

    def names(run_out: list[dict[str, object]]) -> list[object]:
        return [v["name"] for v in run_out]

    on_h1 = await haplan("vm", "list", "--host", "h1", "--json", url=url)
    assert on_h1.code == 0 and names(on_h1.json()) == ["a", "web"], on_h1.err
    protected = (await haplan("vm", "list", "--protected", "--json", url=url)).json()
    assert names(protected) == ["a", "c"]
    assert all(v["ha_restart_priority"] == "restart" for v in protected)
    unprotected = await haplan("vm", "list", "--priority", "unprotected", "--json", url=url)
    assert names(unprotected.json()) == ["web", "tiny"]
    halted = await haplan("vm", "list", "--state", "halted", "--json", url=url)
    assert halted.json() == []
    unknown = await haplan("vm", "list", "--host", "nope", url=url)
    assert unknown.code == 2 and "no host named 'nope'" in unknown.error_line()

    table = await haplan("host", "list", url=url)
    assert table.code == 0 and any(line.startswith("│ h3") for line in table.out.splitlines())
    vms = await haplan("vm", "list", "--host", "h3", url=url)
    assert any(line.startswith("│ c ") and "restart" in line for line in vms.out.splitlines())


async def test_vm_migrate_stops_then_starts_on_the_target_with_admission(system: System) -> None:
    """tiny migrates h2 -> h1: the command answers once it runs on h1, the log has its
    evacuation from h2 before the order and start on h1, and its disk shows no two instances
    writing at once. Moving a onto h2 would break ntol 1: refused (exit 1, one line), nothing
    recorded; once the pool allows overcommit the same move is done. audit verify passes."""
    await system.start(_pool())
    await _all_started(system)
    url = system.url

    moved = await haplan("vm", "migrate", "tiny", "h1", "--json", url=url)
    assert moved.code == 0, moved.err
    detail = moved.json()["detail"]
    assert (detail["from"], detail["to"], detail["running"]) == ("h2", "h1", True)
    records = await system.events()
    # The pool file's first start of tiny on h2 was an order too: the migration's is to h1.
    seq = {type(r.event): r.seq for r in records
           if isinstance(r.event, VMEvacuated | VMRestartOrdered)
           and (r.event.vm, r.event.host) in (("tiny", "h2"), ("tiny", "h1"))
           and not (isinstance(r.event, VMRestartOrdered) and r.event.host == "h2")}  # fmt: skip
    [evacuated] = await system.of(VMEvacuated, vm="tiny")
    assert isinstance(evacuated, VMEvacuated) and evacuated.host == "h2"
    [order] = await system.of(VMRestartOrdered, vm="tiny", host="h1")
    assert isinstance(order, VMRestartOrdered)
    assert order.plan.startswith("operator-start:")
    assert seq[VMEvacuated] < seq[VMRestartOrdered]
    assert [s.host for s in await system.of(VMStarted, vm="tiny")] == ["h2", "h1"]

    refused = await haplan("vm", "migrate", "a", "h2", url=url)
    assert refused.code == 1, refused.err
    line = refused.error_line()
    assert "migrating VM 'a' to h2 would overcommit the pool" in line
    assert "ha-allow-overcommit" in line
    assert await system.of(VMEvacuated, vm="a") == []
    same = await haplan("vm", "migrate", "a", "h1", url=url)
    assert same.code == 1 and "already runs on h1" in same.error_line()

    allow = await haplan("pool", "set", "ha-allow-overcommit=true", url=url)
    assert allow.code == 0, allow.err
    forced = await haplan("vm", "migrate", "a", "h2", url=url)
    assert forced.code == 0 and "runs on h2" in forced.out, forced.err
    assert [s.host for s in await system.of(VMStarted, vm="a")] == ["h1", "h2"]

    for vm in ("tiny", "a"):
        disk = system.shared / "disks" / f"{vm}.log"
        assert sorted(host for host, _, _ in writers(disk).values()) == sorted(("h1", "h2"))
        assert overlaps(disk) == []
    await system.verified()
