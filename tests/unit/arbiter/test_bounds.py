"""A collector's message is bounded by the pool (services.arbiter.bounds): the largest true
heartbeat (every VM of the pool listed, with the longest names) fits its limit, and a heartbeat
listing VMs the pool does not have, more VMs than the pool has, or one VM twice is refused."""

from __future__ import annotations

from schemas.messages import Beacon, NetworkHeartbeat
from services.arbiter.bounds import heartbeat_limit, heartbeat_problem, input_limit

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
