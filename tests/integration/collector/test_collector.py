"""`haplan collector` as a real process on a real nats-server: joining, the lease and the slot,
orders, the three ways it fences (network, storage, hang), and bad input."""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import dataclass

from nats.js.errors import KeyNotFoundError

from schemas.reports import HostLease, HostReport
from services.arbiter.leases import parse_host_lease, revoke
from services.common.heartbeat_store import HeartbeatStore
from services.common.lease_bucket import LEASE_BUCKET, host_lease_key
from tests.integration.collector.conftest import Lab
from tests.integration.collector.harness import (
    INTERVAL,
    CollectorProcess,
    T,
    break_store,
    eventually,
    heal_store,
    pid_alive,
)

STORE_UNREACHABLE = "cannot join the liveset: the heartbeat store is not reachable"
EXIT_FENCED = 75
# From the last proof of life to the fence: T, up to an interval to notice, and slack for a
# loaded machine.
FENCE_WITHIN = T + 4.0


@dataclass
class Running:
    collector: CollectorProcess
    incarnation: str
    order_id: str
    vm_pid: int


async def member_running_a_vm(lab: Lab, vm: str = "Minion 1") -> Running:
    """lab1's collector, joined, with `vm` started by an order."""
    collector = await lab.spawn()
    incarnation = (await collector.member()).incarnation
    order_id = await lab.arbiter.start_vm("lab1", incarnation, vm)
    await collector.report(lambda r: any(v.instance == order_id for v in r.vms), 30, f"{vm} up")
    pids = collector.vm_pids()
    assert len(pids) == 1
    return Running(collector, incarnation, order_id, pids[0])


async def test_joins_once_the_store_is_reachable_and_says_why_until_then(lab: Lab) -> None:
    """While its store is unusable the collector stays out of the liveset and says why on the
    bus; once the store works it asks to join, the arbiter accepts, and it is a member."""
    break_store(lab.store)
    collector = await lab.spawn()
    waiting = await collector.report(lambda r: r.reason == STORE_UNREACHABLE, 30, "why not")
    assert waiting.phase == "joining" and not waiting.store_ok
    asked = await lab.nc.request("ha.status.lab1", b"", timeout=10)
    status = HostReport.model_validate_json(asked.data)
    assert (status.incarnation, status.reason) == (waiting.incarnation, STORE_UNREACHABLE)
    await asyncio.sleep(3 * INTERVAL)
    assert not any(j["incarnation"] == waiting.incarnation for j in lab.arbiter.joins)
    heal_store(lab.store)
    member = await collector.member()
    assert member.incarnation == waiting.incarnation and member.reason is None
    assert any(j["incarnation"] == member.incarnation for j in lab.arbiter.joins)


async def test_its_lease_is_in_kv_and_its_slot_in_the_store(lab: Lab) -> None:
    """The host lease `host.<host>` in `ha_leases` names the incarnation and keeps being
    renewed; the slot in STORE/ha/ is this incarnation's and its seq advances."""
    collector = await lab.spawn()
    incarnation = (await collector.member()).incarnation
    kv = await lab.nc.jetstream().key_value(LEASE_BUCKET)
    first = await kv.get(host_lease_key("lab1"), validate_keys=False)
    assert first.value is not None
    lease = HostLease.model_validate_json(first.value)
    assert (lease.host, lease.incarnation) == ("lab1", incarnation)
    slot = HeartbeatStore(lab.store).read("lab1").slot
    assert slot is not None and slot.incarnation == incarnation and not slot.fenced
    assert first.revision is not None
    deadline = asyncio.get_running_loop().time() + 30
    while (await kv.get(host_lease_key("lab1"), validate_keys=False)).revision == first.revision:
        assert asyncio.get_running_loop().time() < deadline, "the lease is not renewed"
        await asyncio.sleep(INTERVAL)

    def advanced() -> bool:
        newer = HeartbeatStore(lab.store).read("lab1").slot
        return newer is not None and newer.seq > slot.seq

    await eventually(advanced, 30, "the slot's seq advances")


async def test_starts_orders_for_its_incarnation_only(lab: Lab) -> None:
    """An order for its incarnation starts the VM (a process writing `<ns> <host> <order id>`
    to its disk); an order naming another incarnation is ignored."""
    collector = await lab.spawn()
    incarnation = (await collector.member()).incarnation
    await lab.arbiter.start_vm("lab1", "an-earlier-incarnation", "Stray")
    mine = await lab.arbiter.start_vm("lab1", incarnation, "Minion 1")
    await collector.report(lambda r: [v.instance for v in r.vms] == [mine], 30, "Minion 1 up")
    disk = lab.store / "disks" / "Minion 1.log"
    await eventually(lambda: disk.exists() and len(disk.read_text().splitlines()) >= 3, 30, "disk")
    assert {tuple(line.split()[1:]) for line in disk.read_text().splitlines()} == {("lab1", mine)}
    seq = collector.reports[-1].seq
    await collector.report(lambda r: r.seq >= seq + 5, 30, "five more intervals")
    assert all(v.vm != "Stray" for r in collector.reports for v in r.vms)
    assert not (lab.store / "disks" / "Stray.log").exists()


async def test_a_stop_order_halts_the_vm_as_an_admin_shutdown(lab: Lab) -> None:
    """A stop order for its incarnation shuts the VM down, and the exit is reported with cause
    admin-shutdown (which the arbiter does not restart)."""
    run = await member_running_a_vm(lab)
    await lab.arbiter.stop_vm("lab1", run.incarnation, "Minion 1")
    report = await run.collector.report(
        lambda r: any(e.instance == run.order_id for e in r.exits), 30, "the VM's exit"
    )
    assert [(e.vm, e.cause) for e in report.exits] == [("Minion 1", "admin-shutdown")]
    assert report.vms == ()
    assert not pid_alive(run.vm_pid)


async def test_pulling_its_network_fences_it(lab: Lab) -> None:
    """With its network cable pulled (the peer keeps the bus), the collector loses its lease,
    kills its VMs, marks its slot fenced and exits 75."""
    run = await member_running_a_vm(lab)
    await lab.proxy.pull()
    status = await run.collector.exit_status(FENCE_WITHIN)
    assert status == EXIT_FENCED, run.collector.tail()
    assert not pid_alive(run.vm_pid)
    slot = HeartbeatStore(lab.store).read("lab1").slot
    assert slot is not None and slot.fenced and slot.incarnation == run.incarnation
    assert "the bus quorum is lost" in run.collector.log()


async def test_losing_its_store_while_a_peer_still_has_it_fences_it(lab: Lab) -> None:
    """Its store lost while the peer still reports store_ok: it kills its VMs, says fenced on
    the bus (ha.fenced.<host>, its incarnation) and exits 75."""
    run = await member_running_a_vm(lab)
    break_store(lab.store)
    status = await run.collector.exit_status(FENCE_WITHIN)
    assert status == EXIT_FENCED, run.collector.tail()
    assert not pid_alive(run.vm_pid)
    await eventually(lambda: lab.arbiter.fenced, 30, "a fenced notice")
    assert lab.arbiter.fenced == [{"host": "lab1", "incarnation": run.incarnation}]


async def test_a_hung_store_fences_it_without_hanging_it(lab: Lab) -> None:
    """A store read that never returns (a FIFO where a slot should be, like a hung NFS mount)
    counts as a lost store: the collector keeps its interval (it reports the store lost while
    its store thread is stuck), fences since the peer still reaches the store, and exits 75
    although that thread never returns. The FIFO takes the peer's slot: only the pool's hosts'
    slot files are read."""
    run = await member_running_a_vm(lab)
    lab.peer.writes_slot = False
    await asyncio.sleep(2 * INTERVAL)  # a write in progress lands before the FIFO replaces it
    slot = lab.peer.store.slot_path("lab2")
    slot.unlink()
    os.mkfifo(slot)
    await run.collector.report(lambda r: not r.store_ok, FENCE_WITHIN, "the store lost")
    status = await run.collector.exit_status(FENCE_WITHIN)
    assert status == EXIT_FENCED, run.collector.tail()
    assert not pid_alive(run.vm_pid)
    assert "no answer from the store" in run.collector.log()


async def test_losing_the_store_everywhere_fences_no_one(lab: Lab) -> None:
    """When the peer has lost the store too (a global storage outage), fencing would help no
    one: the collector stays a member and its VM keeps running."""
    run = await member_running_a_vm(lab)
    lab.peer.store_ok = False
    await asyncio.sleep(2 * INTERVAL)
    break_store(lab.store)
    await asyncio.sleep(T + 1.0)
    assert run.collector.proc is not None and run.collector.proc.poll() is None
    last = run.collector.last()
    assert last is not None and last.phase == "member" and not last.store_ok
    assert pid_alive(run.vm_pid)


async def test_a_hung_collector_is_fenced_by_its_watchdog(lab: Lab) -> None:
    """SIGSTOP the collector: its process watchdog, no longer petted, kills the VM by
    T + margin; resumed, the collector knows its VMs are gone and exits 75."""
    run = await member_running_a_vm(lab)
    os.kill(run.collector.pid, signal.SIGSTOP)
    try:
        await eventually(lambda: not pid_alive(run.vm_pid), T + 3.0, "the watchdog kills the VM")
    finally:
        os.kill(run.collector.pid, signal.SIGCONT)
    status = await run.collector.exit_status(30)
    assert status == EXIT_FENCED, run.collector.tail()
    assert "the watchdog fired" in run.collector.log()


async def test_malformed_messages_are_counted_and_it_keeps_working(lab: Lab) -> None:
    """Garbage and lies on ha.hb.* and ha.cmd.<host> are dropped and counted per subject; the
    collector keeps heartbeating and still carries out a good order afterwards (here with the
    in-memory `sim` VM driver)."""
    collector = await lab.spawn("lab1", "--vm-driver", "sim")
    incarnation = (await collector.member()).incarnation

    def malformed(subject: str) -> float:
        return collector.metrics().get(
            f'haplan_collector_malformed_messages_total{{subject="{subject}"}}', 0.0
        )

    # Heartbeats one at a time: only the newest undecoded one of a peer is read (coalescing),
    # and a subject of no pool host (ha.hb.lab9) is not even subscribed to.
    for n, payload in enumerate(
        (
            b"{not json",
            b'{"host":"lab1","incarnation":"x","seq":1,"lease_ok":true,"store_ok":true}',
            b"x" * 5000,  # over the lab pool's bound: dropped before decoding
        ),
        start=1,
    ):
        await lab.nc.publish("ha.hb.lab2", payload)
        await lab.nc.flush()
        await eventually(lambda n=n: malformed("ha.hb.*") >= n, 15, f"heartbeat {n} counted")
    for subject, payload in (
        ("ha.hb.lab9", b'{"host":"lab9","incarnation":"x","seq":1,"lease_ok":true,'
                       b'"store_ok":true}'),
        ("ha.cmd.lab1", b"\xff\xfe"),
        ("ha.cmd.lab1", b'{"order_id":"o","vm":"v","host":"lab2","incarnation":"i"}'),
    ):  # fmt: skip
        await lab.nc.publish(subject, payload)
    await lab.nc.flush()

    def counted() -> dict[str, float] | None:
        m = collector.metrics()
        hb = m.get('haplan_collector_malformed_messages_total{subject="ha.hb.*"}')
        cmd = m.get('haplan_collector_malformed_messages_total{subject="ha.cmd.<host>"}')
        return m if (hb, cmd) == (3.0, 2.0) else None

    await eventually(counted, 30, "3 heartbeats and 2 commands counted as malformed")
    order_id = await lab.arbiter.start_vm("lab1", incarnation, "Minion 1")
    await collector.report(lambda r: any(v.instance == order_id for v in r.vms), 30, "VM up")
    assert collector.vm_pids() == []  # a sim VM is no process
    assert "malformed message dropped" in collector.log()
    assert collector.metrics()["haplan_collector_heartbeats_sent_total"] > 0


async def test_a_revoked_lease_is_never_renewed_and_it_fences(lab: Lab) -> None:
    """The arbiter revokes the lease (a compare-and-set delete on its revision, retried on
    the newer revision if a renewal got in first): the collector does not write it back, and
    it fences with exit 75."""
    run = await member_running_a_vm(lab)
    kv = await lab.nc.jetstream().key_value(LEASE_BUCKET)
    key = host_lease_key("lab1")
    entry = await kv.get(key, validate_keys=False)
    assert entry.revision is not None
    assert await revoke(kv, parse_host_lease(entry.key, entry.value, entry.revision))
    status = await run.collector.exit_status(FENCE_WITHIN)
    assert status == EXIT_FENCED, run.collector.tail()
    assert not pid_alive(run.vm_pid)
    try:
        holder = (await kv.get(key, validate_keys=False)).value
    except KeyNotFoundError:
        holder = None
    assert not holder, f"the revoked lease was written back: {holder!r}"
    assert "revoked" in run.collector.log()


async def test_sigterm_stops_it_with_its_vms(lab: Lab) -> None:
    """SIGTERM: the host goes down cleanly: its VMs die, it says fenced (slot and bus) so the
    arbiter can restart them elsewhere, its watchdog stands down, and it exits 0."""
    run = await member_running_a_vm(lab)
    os.kill(run.collector.pid, signal.SIGTERM)
    status = await run.collector.exit_status(10)
    assert status == 0, run.collector.tail()
    assert not pid_alive(run.vm_pid)
    slot = HeartbeatStore(lab.store).read("lab1").slot
    assert slot is not None and slot.fenced and slot.incarnation == run.incarnation
    await eventually(lambda: lab.arbiter.fenced, 30, "a fenced notice")
    assert lab.arbiter.fenced == [{"host": "lab1", "incarnation": run.incarnation}]
    assert run.collector.children_alive() == []
