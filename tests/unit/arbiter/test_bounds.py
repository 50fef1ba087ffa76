"""A collector's message is bounded by the pool (services.common.message_bounds,
services.arbiter.bounds): the largest true heartbeat (every VM of the pool listed, with the
longest names) fits its limit, and a heartbeat listing VMs the pool does not have, more VMs
than the pool has, or one VM twice is refused; the largest true store observation, signed
slot records and all, fits its limit."""

from __future__ import annotations

from schemas.liveness import SignedRecord
from schemas.messages import Beacon, NetworkHeartbeat, SlotReading, StoreObservation
from schemas.slot import Slot
from services.arbiter.bounds import heartbeat_problem
from services.common.message_bounds import heartbeat_limit, input_limit
from services.common.signing import HostSigner
from services.common.slot_bounds import REMEMBERED_INCARNATIONS, record_limit

HOSTS = ("lab1", "h" * 200)
VMS = (*tuple(f"Minion {i} é\x01" for i in range(50)), "v" * 250)


def hb(vms: tuple[str, ...], host: str = "lab1") -> NetworkHeartbeat:
    return NetworkHeartbeat(host=host, incarnation="x" * 36, seq=2**62, lease_ok=True,
                            store_ok=True, vms=vms)  # fmt: skip


def test_the_largest_true_heartbeat_fits_its_limit() -> None:
    """Every VM listed by the host with the longest name, escapes and all, fits."""
    largest = hb(VMS, host=HOSTS[1]).model_dump_json().encode()
    assert len(largest) <= heartbeat_limit(HOSTS, VMS)
    beacon = Beacon(leader="a" * 100, term=2**62, seq=2**62).model_dump_json().encode()
    assert len(largest) + len(beacon) <= heartbeat_limit(HOSTS, VMS)


def test_the_limit_grows_with_the_pool_and_stays_far_below_a_megabyte() -> None:
    """A pool of 64 hosts and 2,000 VMs with 40-byte names bounds a heartbeat well under the
    1 MB the server allows (a 1 MB heartbeat took the arbiter about 50 ms)."""
    hosts = tuple(f"host-{i:034d}" for i in range(64))
    vms = tuple(f"vm-{i:037d}" for i in range(2000))
    assert heartbeat_limit(hosts[:1], vms[:1]) < heartbeat_limit(hosts, vms) < 1_000_000
    assert input_limit(HOSTS, VMS) > heartbeat_limit(HOSTS, VMS)


def test_a_heartbeat_must_be_true_of_the_pool() -> None:
    """Unknown VMs, more VMs than the pool, or a VM twice: each refused in one line."""
    assert heartbeat_problem(hb(VMS[:3]), VMS) is None
    assert heartbeat_problem(hb(()), VMS) is None
    unknown = heartbeat_problem(hb(("nope",)), VMS)
    assert unknown is not None and "does not have" in unknown
    too_many = heartbeat_problem(hb((*VMS, "x")), VMS)
    assert too_many is not None and "the pool has 51" in too_many
    twice = heartbeat_problem(hb((VMS[0], VMS[0])), VMS)
    assert twice is not None and "twice" in twice


def test_the_largest_true_observation_with_signed_records_fits_its_limit() -> None:
    """An observation reporting every remembered incarnation of every host, each reading with
    the largest signed record a collector forwards (services.collector.slots), with the
    longest and most escaped names, fits the pool's limit for ha.sto messages; so does a real
    signed slot of a 2-host pool without VMs (the smallest limit)."""
    hosts = ("lab1", "h\x01" * 100, "é" * 120)
    readings = tuple(
        SlotReading(
            host=h, incarnation="x" * 36, seq=2**62, stale_for_s=1e9, lease_ok=True,
            fenced=True, current=False,
            record=SignedRecord(body='"\\' * (record_limit(h) // 2 - 44), sig="s" * 88),
        )
        for h in hosts
        for _ in range(REMEMBERED_INCARNATIONS)
    )  # fmt: skip
    beacon = Beacon(leader="a" * 100, term=2**62, seq=2**62)
    obs = StoreObservation(observer=hosts[1], incarnation="x" * 36, beacon=beacon,
                           readings=readings)  # fmt: skip
    assert len(obs.model_dump_json().encode()) <= input_limit(hosts, ())
    slot = Slot(
        host="lab1", incarnation="x" * 36, seq=2**62, uptime_s=1e9, lease_ok=True,
        store_ok=True, lease_age_s=1e9, fenced=True, beacon=beacon,
        reason="the heartbeat store is lost while peers still reach it: this host is the "
        "problem and its VMs are better restarted elsewhere",
    )  # fmt: skip
    record = HostSigner.generate().sign(slot.model_dump_json())
    assert len(record.body) + len(record.sig) <= record_limit("lab1")
    real = SlotReading(host="lab1", incarnation=slot.incarnation, seq=slot.seq, stale_for_s=1.0,
                       lease_ok=True, fenced=True, record=record)  # fmt: skip
    pair = StoreObservation(observer="lab2", incarnation="x" * 36, beacon=beacon,
                            readings=(real,) * REMEMBERED_INCARNATIONS)  # fmt: skip
    assert len(pair.model_dump_json().encode()) <= input_limit(("lab1", "lab2"), ())
