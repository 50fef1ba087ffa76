"""The leader's tick is woken at once only by a fenced mark the core believed and had not yet
recorded (services.arbiter.feeds): a forged fenced reading, repeated at will, neither records a
mark nor wakes the tick, and the host's own mark wakes it once."""

from __future__ import annotations

from typing import cast

from nats.aio.client import Client

from schemas.messages import FencedNotice
from services.arbiter.feeds import BusFeeds
from services.arbiter.metrics import ArbiterMetrics
from tests.unit.arbiter.helpers import SIGNERS, Clock, leader, observation, reading


def test_only_a_new_believed_mark_is_reported_by_the_core() -> None:
    """store_observation and fenced_notice return True only for the first mark they record of
    an incarnation: not for b's forgery of a's fenced slot, not for a mark heard again."""
    clock = Clock(leader(0.0))
    clock.step()
    arb = clock.arb
    forged = reading("a", 1.0, fenced=True, signer=SIGNERS["b"])
    assert not arb.store_observation(observation("b", clock.beacon, forged), clock.now)
    own = reading("a", 1.0, fenced=True)
    assert arb.store_observation(observation("b", clock.beacon, own), clock.now)
    assert not arb.store_observation(observation("c", clock.beacon, own), clock.now)
    assert not arb.fenced_notice(FencedNotice(host="a", incarnation="a#1"), clock.now)
    assert arb.fenced_notice(FencedNotice(host="c", incarnation="c#1"), clock.now)
    assert not arb.fenced_notice(FencedNotice(host="b", incarnation="b#0"), clock.now)


def test_a_forged_fenced_reading_does_not_wake_the_tick() -> None:
    """The feeds (fed directly: no message reaches the bus here) leave `fenced` clear for b's
    forgeries of a's fenced slot, and set it for a's own."""
    clock = Clock(leader(0.0))
    clock.step()
    # feed() never touches the connection: no bus is needed for it.
    feeds = BusFeeds(cast(Client, None), clock.arb, ArbiterMetrics(), lambda: clock.now)
    for inc in ("a#1", "a#2", "a#3"):
        forged = reading("a", 1.0, inc=inc, fenced=True, signer=SIGNERS["b"])
        feeds.feed(observation("b", clock.beacon, forged), clock.now)
    assert not feeds.fenced.is_set()
    feeds.feed(observation("b", clock.beacon, reading("a", 1.0, fenced=True)), clock.now)
    assert feeds.fenced.is_set()
