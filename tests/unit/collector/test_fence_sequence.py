"""The fence sequence in the collector core: a revoked lease fences at once, the fenced mark
exists only once the shell confirmed every VM dead, and a new incarnation does not join (nor
write its slot) while a VM of an earlier one is alive."""

from __future__ import annotations

from services.collector.core import LEASE_REVOKED, STOPPED, Collector, Phase
from tests.unit.collector.helpers import BEACON, HOSTS, TIMERS, member, order

T = TIMERS.timeout_s


def test_a_revoked_lease_fences_at_the_next_tick_not_T_later() -> None:
    """Right after a renewal (the lease proof is fresh for almost T), the news that the lease
    was revoked makes the very next tick a fence, with the revocation as its reason."""
    c = member(now=0.0, vms=("Minion 1",))
    c.lease_renewed(1.0)
    c.slot_written(1.0, ok=True)
    assert not c.tick(1.5).fence
    c.lease_revoked()
    out = c.tick(1.7)
    assert out.fence and out.reason == LEASE_REVOKED
    assert out.phase is Phase.FENCED
    assert out.pet_until is None  # the watchdog is no longer pushed back


def test_orders_queued_before_a_revocation_never_run() -> None:
    """An order that arrived before the revocation was learnt is dropped with the fence."""
    c = member(now=0.0)
    c.order(order("web"))
    c.lease_revoked()
    out = c.tick(0.6)
    assert out.fence and out.starts == ()
    assert "web" not in c.vms


def test_a_joining_incarnation_whose_lease_is_revoked_fences_too() -> None:
    """Revocation is not only for members: a joining incarnation stops as well."""
    c = Collector("a", "a#2", HOSTS, TIMERS, booted_at=0.0)
    c.lease_revoked()
    assert c.tick(0.2).fence


def test_the_first_fence_reason_stays() -> None:
    """A revocation learnt after THE TABLE fenced does not rewrite why the host fenced."""
    c = member(now=0.0)
    first = c.tick(T + 1.0).reason
    c.lease_revoked()
    assert c.tick(T + 1.2).reason == first != LEASE_REVOKED


def test_no_mark_before_the_kill_is_confirmed() -> None:
    """A fence tick carries no mark; `vms_dead` gives it only to a fenced incarnation, and
    until then the core still counts the VMs as running (its heartbeat says so)."""
    c = member(now=0.0, vms=("Minion 1",))
    assert c.vms_dead(1.0) is None  # a member that is not fencing gets no mark
    out = c.tick(T + 1.0)
    assert out.fence and not hasattr(out, "fenced_slot")
    assert out.heartbeat.vms == ("Minion 1",)
    assert c.tick(T + 2.0).heartbeat.vms == ("Minion 1",)
    mark = c.vms_dead(T + 3.0)
    assert mark is not None and mark.slot.fenced and c.vms == set()


def test_a_clean_stop_is_a_fence_with_its_own_reason() -> None:
    """SIGTERM makes the incarnation fenced (no more orders), and its mark too waits for the
    confirmed kill."""
    c = member(now=0.0, vms=("db",))
    c.order(order("web"))
    c.stopping()
    assert c.phase is Phase.FENCED
    out = c.tick(0.6)
    assert out.fence and out.reason == STOPPED and out.starts == ()
    mark = c.vms_dead(0.7)
    assert mark is not None and mark.notice.incarnation == "a#1"


def _ready_to_join(c: Collector, now: float) -> None:
    c.lease_renewed(now)
    c.slot_written(now, ok=True)
    c.beacon(BEACON)


def test_no_join_while_an_earlier_incarnations_vm_is_alive() -> None:
    """With the store and the bus reachable and a beacon heard, a new incarnation still asks
    nothing while the shell reports VMs of an earlier incarnation alive; it says why, and
    asks as soon as they are confirmed dead."""
    c = Collector("a", "a#2", HOSTS, TIMERS, booted_at=0.0)
    c.earlier_vms_alive(1)
    assert c.waits_for_earlier_vms
    _ready_to_join(c, 0.5)
    out = c.tick(1.0)
    assert out.phase is Phase.JOINING and out.join is None
    assert out.reason is not None and "earlier incarnation still alive" in out.reason
    c.earlier_vms_alive(0)
    assert not c.waits_for_earlier_vms
    _ready_to_join(c, 1.5)
    assert c.tick(2.0).join is not None


def test_joining_pets_a_device_only_when_no_earlier_vm_lives() -> None:
    """While joining no VM of this incarnation runs, so the core gives the watchdog its full
    deadline; but a device watchdog, shared with the earlier incarnations, gets no pet at all
    while their VMs live: it would postpone the reset their incarnation left to kill them."""
    c = Collector("a", "a#2", HOSTS, TIMERS, booted_at=0.0, device_watchdog=True)
    c.earlier_vms_alive(1)
    _ready_to_join(c, 0.5)
    assert c.tick(1.0).pet_until is None
    c.earlier_vms_alive(0)
    _ready_to_join(c, 1.5)
    assert c.tick(2.0).pet_until == 2.0 + TIMERS.watchdog_deadline_s


def test_joining_pets_a_process_watchdog_while_earlier_vms_live() -> None:
    """A process watchdog is this incarnation's own (the earlier one's runs to its own
    deadline): the core pets it while joining even while earlier VMs live, or it would fire
    and fence this incarnation for nothing (its successor then finds the same VMs)."""
    c = Collector("a", "a#2", HOSTS, TIMERS, booted_at=0.0)
    c.earlier_vms_alive(1)
    _ready_to_join(c, 0.5)
    out = c.tick(1.0)
    assert out.join is None and out.pet_until == 1.0 + TIMERS.watchdog_deadline_s


def test_a_leftover_check_that_hangs_counts_as_earlier_vms_alive() -> None:
    """The shell could not check for an earlier incarnation's VMs (None): no join request, no
    pet of a device, and the reason says the check hangs; a later check that finds none lets
    it join."""
    c = Collector("a", "a#2", HOSTS, TIMERS, booted_at=0.0, device_watchdog=True)
    c.earlier_vms_alive(None)
    assert c.waits_for_earlier_vms
    _ready_to_join(c, 0.5)
    out = c.tick(1.0)
    assert out.join is None and out.pet_until is None
    assert out.reason is not None and "cannot check" in out.reason
    c.earlier_vms_alive(0)
    _ready_to_join(c, 1.5)
    assert c.tick(2.0).join is not None


def test_no_mark_speaks_for_an_earlier_incarnations_live_vms() -> None:
    """A new incarnation that fences (or is stopped) while an earlier one's VM lives gets no
    fenced mark: its slot would tell the arbiter the earlier incarnation is fenced."""
    c = Collector("a", "a#2", HOSTS, TIMERS, booted_at=0.0)
    c.earlier_vms_alive(2)
    c.stopping()
    assert c.tick(0.2).fence
    assert c.vms_dead(0.3) is None
    c.earlier_vms_alive(0)
    assert c.vms_dead(0.4) is not None
