"""Signed slots in the arbiter core: a host's fenced mark or new incarnation counts only on its
own signature, of its current incarnation, freshly written (docs/protocol.md, Signed slots)."""

from __future__ import annotations

from schemas.host_key import check_host_key
from schemas.liveness import FencedMark, SignedRecord
from schemas.messages import Beacon, JoinRequest
from schemas.pool import Host
from schemas.slot import Slot
from services.arbiter.core import Arbiter
from services.arbiter.rules import rule_holds
from services.arbiter.testimony import TOO_LARGE, backs_mark, mark_problem, unbacked
from services.arbiter.view import Fenced, Joined
from services.common import signing
from services.common.signing import HostSigner, signature_holds
from tests.unit.arbiter.helpers import (
    JOINED,
    POOL,
    SIGNERS,
    T_DEAD,
    TIMERS,
    Clock,
    join,
    leader,
    observation,
    reading,
)
from tests.unit.test_host_key import _other_spelling


def _flood(clock: Clock, steps: int, make: object) -> None:
    """`steps` ticks, each with the observation `make(clock)` returns (a hostile b's)."""
    for _ in range(steps):
        clock.step(make(clock))  # type: ignore[operator]


def test_a_fenced_mark_signed_by_the_observer_is_a_forgery_and_changes_nothing() -> None:
    """b forges a's fenced slot with its own key, every interval, while a is alive: a is never
    marked or declared dead (on unsigned evidence it was, at once), and each forged reading is
    kept as a forgery attributed to b."""
    clock = Clock(leader(0.0))
    forged = reading("a", 0.0, fenced=True, signer=SIGNERS["b"])
    _flood(clock, int(T_DEAD) + 5, lambda c: observation("b", c.beacon, forged))
    assert clock.of(Fenced) == [] and clock.dead() == []
    forgeries = clock.arb.take_forgeries()
    assert len(forgeries) == int(T_DEAD) + 5
    assert {(f.observer, f.host) for f in forgeries} == {("b", "a")}
    assert "signature" in forgeries[0].why
    assert clock.arb.take_forgeries() == []


def test_a_reading_without_a_record_or_rewritten_around_one_is_a_forgery() -> None:
    """A fenced claim with no signed record, or with a's genuine record of an unfenced slot
    under a reading that says fenced, marks nothing and counts as b's forgery."""
    clock = Clock(leader(0.0))
    genuine = reading("a", 0.0).record
    bare = reading("a", 0.0, fenced=True).model_copy(update={"record": None})
    rewritten = reading("a", 0.0, fenced=True, record=genuine)
    _flood(clock, int(T_DEAD) + 2, lambda c: observation("b", c.beacon, bare, rewritten))
    assert clock.of(Fenced) == [] and clock.dead() == []
    whys = {f.why for f in clock.arb.take_forgeries()}
    assert whys == {"no signed record", "the reading does not say what the signed record says"}


def test_a_new_incarnation_signed_by_the_observer_changes_nothing() -> None:
    """b claims a#9 now writes a's slot, signed with b's key and a fresh beacon: ignored."""
    clock = Clock(leader(0.0))

    def forged(c: Clock) -> object:
        return observation(
            "b", c.beacon, reading("a", 0.0, inc="a#9", beacon=c.beacon, signer=SIGNERS["b"])
        )

    _flood(clock, int(T_DEAD) + 3, forged)
    assert clock.of(Fenced) == [] and clock.dead() == []
    assert clock.arb.take_forgeries()


def test_a_replayed_record_of_an_older_incarnation_changes_nothing() -> None:
    """a#1 joins under this leader. a's genuine record of a#0, written before a#1 joined (its
    beacon is older), or with no beacon at all, or with another leader's beacon, replayed as
    the current slot, is not a new incarnation: a#1 is neither marked nor declared dead."""
    arb = Arbiter("arb", POOL, TIMERS)
    arb.gain_leadership(0.0, 1, [d for d in JOINED if d.host != "a"])
    clock = Clock(arb)
    clock.step()
    before_join = clock.beacon
    clock.step()
    while not clock.of(Joined):
        arb.join_request(join("a", "a#1", clock.beacon), clock.now)
        clock.step()
    old = reading("a", 0.0, inc="a#0", beacon=before_join)
    unbeaconed = reading("a", 0.0, inc="a#0")
    foreign = reading("a", 0.0, inc="a#0", beacon=Beacon(leader="old", term=0, seq=1))
    _flood(clock, int(T_DEAD) + 3, lambda c: observation("b", c.beacon, old, unbeaconed, foreign))
    assert clock.of(Fenced) == [] and clock.dead() == []
    assert clock.arb.take_forgeries() == []  # genuine records: replays, not forgeries


def test_a_replayed_fenced_record_of_an_earlier_incarnation_changes_nothing() -> None:
    """a's genuine fenced slot of a#0 replayed (as the current slot or as a remembered one)
    says nothing about a#1."""
    clock = Clock(leader(0.0))
    fenced_old = reading("a", 0.0, inc="a#0", fenced=True)
    remembered = reading("a", 0.0, inc="a#0", fenced=True, current=False)
    _flood(clock, int(T_DEAD) + 3, lambda c: observation("b", c.beacon, fenced_old, remembered))
    assert clock.of(Fenced) == [] and clock.dead() == []


def test_the_hosts_own_signed_fenced_slot_declares_it_dead_with_the_record() -> None:
    """a's own fenced slot, forwarded by b: the fast path declares a dead, and the evidence
    carries a's record, which re-checks against a's registered key."""
    clock = Clock(leader(0.0))
    clock.alive.discard("a")
    clock.run_until(T_DEAD)
    own = reading("a", 1.0, fenced=True)
    clock.step(observation("b", clock.beacon, own))
    [dead] = clock.dead()
    mark = dead.evidence.fenced_mark
    assert dead.evidence.rule == "fenced" and rule_holds(dead.evidence, TIMERS)
    assert mark is not None and mark.record == own.record and mark.observer == "b"
    assert mark_problem(SIGNERS["a"].public, "a", mark, frozenset()) is None
    assert mark_problem(SIGNERS["b"].public, "a", mark, frozenset()) is not None


def test_a_host_with_no_registered_key_is_never_marked_from_a_slot() -> None:
    """With no key registered for a, even a's own (signed or not) fenced slot forwarded by b is
    not acted on, and is no forgery either: only a's bus notice or the timeout path count."""
    pool = POOL.model_copy(update={"hosts": tuple(_without_key_for_a(h) for h in POOL.hosts)})
    arb = Arbiter("arb", pool, TIMERS)
    arb.gain_leadership(0.0, 1, JOINED)
    clock = Clock(arb)
    clock.alive.discard("a")
    own = reading("a", 1.0, fenced=True)
    _flood(clock, int(T_DEAD) + 2, lambda c: observation("b", c.beacon, own))
    assert clock.of(Fenced) == [] and clock.dead() == []
    assert clock.arb.take_forgeries() == []


def _without_key_for_a(host: Host) -> Host:
    return host.model_copy(update={"key": None}) if host.name == "a" else host


def test_a_signature_holds_only_over_the_exact_body() -> None:
    """One byte of the body changed, another key, or a mangled signature: it no longer holds."""
    signer = HostSigner.generate()
    genuine = reading("a", 0.0).record
    assert genuine is not None
    record = signer.sign(genuine.body)
    tampered = record.body.replace('"fenced":false', '"fenced":true')
    assert tampered != record.body
    assert signature_holds(signer.public, record)
    assert not signature_holds(signer.public, SignedRecord(body=tampered, sig=record.sig))
    assert not signature_holds(HostSigner.generate().public, record)
    assert not signature_holds(signer.public, SignedRecord(body=record.body, sig="!!"))


def test_what_this_process_signed_is_answered_as_ed25519_answers() -> None:
    """A record this process signed is answered from what it remembers having signed (the
    simulator's forgeries are), and each answer is Ed25519's own: it holds under the signing
    key, in either spelling of it, and under no other key; forgotten, the same answers come
    from verifying."""
    signer, other = HostSigner.generate(), HostSigner.generate()
    record = signer.sign(reading("a", 0.0).record.body)  # type: ignore[union-attr]
    odd = _other_spelling(signer.public)
    assert check_host_key(odd) == signer.public != odd
    keys = (signer.public, odd, other.public, "ed25519:not-a-key")
    remembered = [signature_holds(k, record) for k in keys]
    signing._MADE.pop((record.body, record.sig))
    verified = [signature_holds(k, record) for k in keys]
    assert remembered == verified == [True, True, False, False]


def _bloated_fenced_record(host: str) -> SignedRecord:
    """`host`'s own genuine fenced slot, signed by its key, its JSON padded far beyond any
    slot the host writes (JSON allows the whitespace: the slot still parses)."""
    genuine = reading(host, 0.0, fenced=True).record
    assert genuine is not None
    return SIGNERS[host].sign(genuine.body + " " * 60_000)


def test_a_bloated_own_record_is_refused_before_it_is_verified_or_kept() -> None:
    """A fenced reading carrying a's own signature over a 60 KB body is not a's word: no mark,
    no declaration carrying it, and the reason names the size; a recorded mark with such a
    record does not hold in the audit either."""
    clock = Clock(leader(0.0))
    clock.alive.discard("a")
    bloated = reading("a", 1.0, fenced=True, record=_bloated_fenced_record("a"))
    clock.step(observation("b", clock.beacon, bloated))
    assert clock.of(Fenced) == []
    assert {f.why for f in clock.arb.take_forgeries()} == {TOO_LARGE}
    mark = FencedMark(incarnation="a#1", source="slot", observer="b", record=bloated.record)
    assert mark_problem(SIGNERS["a"].public, "a", mark, frozenset()) == TOO_LARGE


def test_backs_mark_is_one_rule_for_the_arbiter_and_the_audit() -> None:
    """A host's own slot backs a fenced mark of an incarnation when it is that incarnation's
    slot saying fenced, or another incarnation's not already declared dead; the audit's
    reasons (`unbacked`) say why not in every other case."""

    def slot(inc: str, fenced: bool) -> Slot:
        return Slot(host="a", incarnation=inc, seq=1, uptime_s=0.0, lease_ok=False,
                    store_ok=True, fenced=fenced)  # fmt: skip

    buried = frozenset({"a#0"})
    assert backs_mark(slot("a#1", True), "a#1", buried)
    assert not backs_mark(slot("a#1", False), "a#1", buried)
    assert backs_mark(slot("a#2", False), "a#1", buried)
    assert not backs_mark(slot("a#0", True), "a#1", buried)
    assert unbacked(slot("a#1", False), "a#1", buried) == "the mark's record does not say fenced"
    assert unbacked(slot("a#0", True), "a#1", buried) == (
        "the mark's record is of incarnation a#0, already declared dead"
    )


def test_a_join_not_signed_by_the_host_is_a_forgery_and_changes_nothing() -> None:
    """A join request of a new incarnation a#2 whose slot is signed by b's key, or carries no
    record, while a#1 lives: a#1 is neither marked fenced nor declared dead, a#2 never joins,
    and each request counts as a forgery. a's own signed request then joins a#2 (after a#1
    is declared dead on it), and the Joined decision carries that record for the audit."""
    clock = Clock(leader(0.0))
    bare = JoinRequest(host="a", incarnation="a#2", beacon=None)
    for _ in range(int(T_DEAD) + 3):
        clock.arb.join_request(join("a", "a#2", clock.beacon, signer=SIGNERS["b"]), clock.now)
        clock.step()
        clock.arb.join_request(bare.model_copy(update={"beacon": clock.beacon}), clock.now)
        clock.step()
    assert clock.of(Fenced) == [] and clock.dead() == [] and clock.of(Joined) == []
    whys = {f.why for f in clock.arb.take_forgeries()}
    assert whys == {
        "join request: the join's record is not signed by a's registered key",
        "join request: the join carries no signed record of the incarnation's slot",
    }
    clock.alive.discard("a")
    while not clock.of(Joined):
        genuine = join("a", "a#2", clock.beacon)
        clock.arb.join_request(genuine, clock.now)
        clock.step()
    assert [d.evidence.incarnation for d in clock.dead()] == ["a#1"]
    assert [(d.incarnation, d.record) for d in clock.of(Joined)] == [("a#2", genuine.record)]
