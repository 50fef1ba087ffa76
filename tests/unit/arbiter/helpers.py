"""A small pool and builders for the arbiter core's inputs (T = 10 s: T_dead 14 s, fresh 3 s).

Every host has a key pair (fixed seeds, so runs repeat) registered in the pool, and `reading`
forwards the host's signed record as a collector does (docs/protocol.md, Signed slots).
"""

from __future__ import annotations

from schemas.liveness import SignedRecord, SlotStale, StoreOutage
from schemas.messages import Beacon, JoinRequest, SlotReading, StoreObservation
from schemas.pool import VM, HAConfig, Host, Pool
from schemas.slot import Slot
from services.arbiter.core import Arbiter, ArbiterTick
from services.arbiter.view import Decision, DeclaredDead, Joined
from services.common.signing import HostSigner
from services.common.timers import Timers
from services.sim.hostile import fixed_signer

TIMERS = Timers.from_timeout(10.0)
T, T_DEAD = TIMERS.timeout_s, TIMERS.t_dead_s
LONG, SHORT = T_DEAD, T_DEAD - 0.5  # a duration that makes T_dead, and one just short of it
# A collector's reading of a slot and every lease holder's store outage, by how long they last:
# the inputs the rule tables are checked over (test_rules, test_timeout_path).
SLOTS = {
    "none": None,
    "still T_dead": SlotStale(observer="b", slot_seq=4, stale_for_s=LONG),
    "still less": SlotStale(observer="b", slot_seq=4, stale_for_s=SHORT),
}
OUTAGES = {
    "none": None,
    "T_dead": StoreOutage(reporters=("b",), unreachable_for_s=LONG),
    "less": StoreOutage(reporters=("b",), unreachable_for_s=SHORT),
    "no reporter": StoreOutage(reporters=(), unreachable_for_s=LONG),
}
HOSTS = ("a", "b", "c")
SIGNERS = {h: fixed_signer(h) for h in HOSTS}

POOL = Pool(
    name="test pool",
    ha=HAConfig(host_failures_to_tolerate=1, timeout_s=10.0),
    hosts=tuple(
        Host(name=h, memory_mib=8192, reserved_mib=1024, key=SIGNERS[h].public) for h in HOSTS
    ),
    vms=(
        VM(name="web", memory_mib=2048, host="a", ha_restart_priority="restart"),
        VM(name="db", memory_mib=1024, host="a"),
        VM(name="batch", memory_mib=4096, host="b", ha_restart_priority="restart"),
    ),
)
JOINED: list[Decision] = [Joined(h, f"{h}#1") for h in HOSTS]


def leader(now: float = 0.0) -> Arbiter:
    arb = Arbiter("arb", POOL, TIMERS)
    arb.gain_leadership(now, 1, JOINED)
    return arb


def reading(
    host: str,
    stale: float,
    *,
    inc: str | None = None,
    seq: int = 1,
    fenced: bool = False,
    current: bool = True,
    beacon: Beacon | None = None,
    signer: HostSigner | None = None,
    record: SignedRecord | None = None,
) -> SlotReading:
    """A reading of `host`'s slot carrying the record `signer` (by default the host's own key)
    signed, whose slot saw `beacon`; or exactly `record` if one is given."""
    incarnation = inc or f"{host}#1"
    if record is None:
        slot = Slot(
            host=host,
            incarnation=incarnation,
            seq=seq,
            uptime_s=0.0,
            lease_ok=False,
            store_ok=True,
            fenced=fenced,
            beacon=beacon,
        )
        record = (signer or SIGNERS[host]).sign(slot.model_dump_json())
    return SlotReading(
        host=host,
        incarnation=incarnation,
        seq=seq,
        stale_for_s=stale,
        lease_ok=False,
        fenced=fenced,
        current=current,
        record=record,
    )


def observation(
    observer: str, beacon: Beacon | None, *readings: SlotReading, unreachable: float | None = None
) -> StoreObservation:
    return StoreObservation(
        observer=observer,
        incarnation=f"{observer}#1",
        beacon=beacon,
        readings=readings,
        unreachable_for_s=unreachable,
    )


class Clock:
    """Drives a leader tick by tick (one per second), renewing the leases of `alive` hosts and
    keeping the newest beacon, and collects every decision made."""

    def __init__(self, arb: Arbiter, start: float = 0.0) -> None:
        self.arb, self.now = arb, start
        self.alive: set[str] = set(HOSTS)
        self.beacon: Beacon | None = None
        self.decisions: list[Decision] = []
        self.last: ArbiterTick = ArbiterTick()

    def step(self, *observations: StoreObservation) -> ArbiterTick:
        self.now += 1.0
        for h in sorted(self.alive):
            self.arb.lease_renewed(h, f"{h}#1", self.now)
        for obs in observations:
            self.arb.store_observation(obs, self.now)
        self.last = self.arb.tick(self.now)
        self.decisions.extend(self.last.decisions)
        self.beacon = self.last.beacon
        return self.last

    def run_until(self, t: float) -> None:
        while self.now < t:
            self.step()

    def of(self, kind: type) -> list[Decision]:
        return [d for d in self.decisions if isinstance(d, kind)]

    def dead(self) -> list[DeclaredDead]:
        return [d for d in self.decisions if isinstance(d, DeclaredDead)]


def join(
    host: str, inc: str, beacon: Beacon | None, *, signer: HostSigner | None = None
) -> JoinRequest:
    """`inc`'s join request, carrying its slot signed by `signer` (by default the host's own
    key), as a collector sends it (docs/protocol.md, Signed slots)."""
    slot = Slot(
        host=host, incarnation=inc, seq=1, uptime_s=0.0, lease_ok=True, store_ok=True,
        fenced=False, beacon=beacon,
    )  # fmt: skip
    record = (signer or SIGNERS[host]).sign(slot.model_dump_json())
    return JoinRequest(host=host, incarnation=inc, beacon=beacon, record=record)
