"""The fence sequence of a real `haplan collector` process on a real nats-server: a revoked lease
stops the VMs at once, the fenced mark is written only once every VM is confirmed dead (else no
mark, and the watchdog is left to fire), and a new incarnation does not join while a VM of an
earlier one is alive. A VM no kill reaches is a test seam (tests/integration/collector/
unkillable.py) around the real collector."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from nats.aio.msg import Msg

from services.arbiter.leases import parse_host_lease, revoke
from services.common.heartbeat_store import HeartbeatStore
from services.common.lease_bucket import LEASE_BUCKET, host_lease_key
from tests.integration.collector.conftest import POOL, Lab, create_pool
from tests.integration.collector.harness import CollectorProcess, eventually, pid_alive

EXIT_FENCED = 75
SEAM = "tests.integration.collector.unkillable"
STUCK = "Stuck VM"
SEAM_ENV = {"HAPLAN_TEST_UNKILLABLE_VM": STUCK}
NOT_CONFIRMED = "the kill is not confirmed"
EARLIER_ALIVE = "VM(s) of an earlier incarnation still alive"


async def _revoke_lease(lab: Lab, host: str = "lab1") -> None:
    """What the arbiter does when it declares the incarnation dead (services.arbiter)."""
    kv = await lab.nc.jetstream().key_value(LEASE_BUCKET)
    entry = await kv.get(host_lease_key(host), validate_keys=False)
    assert entry.revision is not None
    assert await revoke(kv, parse_host_lease(entry.key, entry.value, entry.revision))


async def _run(collector: CollectorProcess, lab: Lab, vm: str, timeout: float = 10) -> int:
    """Start `vm` on the member `collector` by an order; its pid once it runs."""
    incarnation = (await collector.member(timeout=timeout * 3)).incarnation
    order_id = await lab.arbiter.start_vm("lab1", incarnation, vm)
    await collector.report(lambda r: any(v.instance == order_id for v in r.vms), timeout, vm)
    pids: list[int] = await eventually(
        lambda: [p for p in collector.vm_pids() if _disk_of(p) == vm], timeout, f"{vm} pid"
    )
    assert len(pids) == 1
    return pids[0]


def _disk_of(pid: int) -> str | None:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except OSError:
        return None
    disk = argv[argv.index("--disk") + 1] if "--disk" in argv else None
    return None if disk is None else Path(disk).name.removesuffix(".log")


async def test_a_revoked_lease_kills_the_vms_long_before_the_lease_would_run_out(
    empty_lab: Lab,
) -> None:
    """With T = 30 s, the arbiter revokes lab1's lease (a compare-and-set delete, as when it
    declares the incarnation dead). Within 20 s, before the lease proof could run out (T after
    a renewal at most one 3 s interval old), the collector has killed its VM and then said
    fenced: when the notice arrives the VM process is already dead; the slot says fenced; it
    exits 75 naming the revocation. Today's collector would wait for T."""
    lab = empty_lab
    slow = POOL.model_copy(update={"ha": POOL.ha.model_copy(update={"timeout_s": 30.0})})
    await create_pool(lab.nc, slow)
    await lab.arbiter.start()
    lab.peer.start()
    collector = await lab.spawn()
    incarnation = (await collector.member(timeout=30)).incarnation
    vm_pid = await _run(collector, lab, "Minion 1", timeout=20)
    vm_alive_at_notice: list[bool] = []

    async def on_fenced(msg: Msg) -> None:
        vm_alive_at_notice.append(pid_alive(vm_pid))

    sub = await lab.nc.subscribe("ha.fenced.lab1", cb=on_fenced)
    await lab.nc.flush()
    await _revoke_lease(lab)
    await eventually(lambda: vm_alive_at_notice, 20, f"a fenced notice\n{collector.tail()}")
    await sub.unsubscribe()
    assert vm_alive_at_notice[0] is False, "the mark came before the VM was dead"
    assert await collector.exit_status(10) == EXIT_FENCED
    slot = HeartbeatStore(lab.store).read("lab1").slot
    assert slot is not None and slot.fenced and slot.incarnation == incarnation
    assert "revoked" in collector.log()


async def test_no_fenced_mark_while_a_vm_survives_the_kill(lab: Lab) -> None:
    """lab1 runs a VM the kill cannot reach (seam) and an ordinary one. Its lease is revoked:
    it fences and kills what it can (the ordinary VM dies) but, as one VM still runs, it
    writes no fenced mark: its slot stays unfenced, no notice reaches the bus, and it exits
    75 saying the kill is not confirmed."""
    collector = await lab.spawn(module=SEAM, env=SEAM_ENV)
    stuck = await _run(collector, lab, STUCK)
    ordinary = await _run(collector, lab, "Minion 1")
    incarnation = collector.reports[-1].incarnation
    await _revoke_lease(lab)
    assert await collector.exit_status(10) == EXIT_FENCED, collector.tail()
    await lab.nc.flush()  # whatever it published before exiting has reached the test
    assert not pid_alive(ordinary)
    assert pid_alive(stuck)
    assert lab.arbiter.fenced == []
    slot = HeartbeatStore(lab.store).read("lab1").slot
    assert slot is not None and slot.incarnation == incarnation and not slot.fenced
    assert NOT_CONFIRMED in collector.log()


async def test_sigterm_after_a_failed_kill_leaves_the_watchdog_armed(lab: Lab) -> None:
    """SIGTERM while a VM survives the kill: no fenced mark (slot, bus), the watchdog is not
    disarmed, so it fires at its deadline (it says so in the collector's log), and the
    collector exits 75 rather than 0."""
    collector = await lab.spawn(module=SEAM, env=SEAM_ENV)
    stuck = await _run(collector, lab, STUCK)
    os.kill(collector.pid, signal.SIGTERM)
    assert await collector.exit_status(10) == EXIT_FENCED, collector.tail()
    await lab.nc.flush()
    assert lab.arbiter.fenced == []
    slot = HeartbeatStore(lab.store).read("lab1").slot
    assert slot is not None and not slot.fenced
    await eventually(lambda: "not petted for" in collector.log(), 30, "the watchdog fires")
    assert pid_alive(stuck)  # the seam's VM escapes even the watchdog; a reset would not


async def test_a_new_incarnation_does_not_join_while_a_leftover_vm_lives(lab: Lab) -> None:
    """lab1's collector is SIGKILLed with a VM no kill reaches. Its next incarnation keeps
    trying to kill it and, while it lives, says why it does not join, asks nothing of the
    arbiter and leaves the earlier incarnation's slot alone (its own slot would count as that
    incarnation's fenced mark), for more than the 5 s after which today's collector went
    ahead. Once the VM is dead (the test kills it) it joins."""
    first = await lab.spawn(module=SEAM, env=SEAM_ENV)
    stuck = await _run(first, lab, STUCK)
    earlier = first.reports[-1].incarnation
    assert first.proc is not None
    first.proc.kill()
    await first.exit_status(30)
    second = await lab.spawn(module=SEAM, env=SEAM_ENV)
    waiting = await second.report(
        lambda r: r.reason is not None and EARLIER_ALIVE in r.reason, 15, "why it waits"
    )
    assert waiting.phase == "joining"
    start = asyncio.get_running_loop().time()
    # 40 more reports (8 s at one per 0.2 s interval), every one still waiting.
    later = await second.report(lambda r: r.seq >= waiting.seq + 40, 30, "40 more reports")
    assert asyncio.get_running_loop().time() - start > 5.0
    assert all(
        r.phase == "joining" and r.reason is not None and EARLIER_ALIVE in r.reason
        for r in second.reports
        if waiting.seq <= r.seq <= later.seq
    )
    assert pid_alive(stuck)
    assert not any(j["incarnation"] == waiting.incarnation for j in lab.arbiter.joins)
    slot = HeartbeatStore(lab.store).read("lab1").slot
    assert slot is not None and slot.incarnation == earlier
    os.kill(stuck, signal.SIGKILL)
    member = await second.member()
    assert member.incarnation == waiting.incarnation
    assert any(j["incarnation"] == member.incarnation for j in lab.arbiter.joins)
