"""Warnings about bad messages are rate-limited per sender (services.common.ratelimit): a flood
of 25,000 bad messages from one sender is a handful of lines, each saying how many it left
out, while another sender's first bad message is still logged at once."""

from __future__ import annotations

from services.common.ratelimit import WarnLimiter


def test_one_warning_per_sender_and_window_with_the_count_left_out() -> None:
    """25,000 bad messages in 15 s from one sender: one line per 10-s window (2 here), the
    second says how many the first window left out; every message is accounted for."""
    limiter = WarnLimiter(window_s=10.0)
    logged: list[int] = []
    for i in range(25_000):
        now = i * 15.0 / 25_000
        admitted, left_out = limiter.admit("ha.hb.lab1", now)
        if admitted:
            logged.append(left_out)
    assert len(logged) == 2
    assert logged[0] == 0
    assert logged[1] == sum(1 for i in range(25_000) if i * 15.0 / 25_000 < 10.0) - 1


def test_senders_are_limited_separately() -> None:
    """A flooding sender does not silence another one: each sender's first warning goes out."""
    limiter = WarnLimiter(window_s=10.0)
    assert limiter.admit("ha.hb.lab1", 0.0) == (True, 0)
    assert limiter.admit("ha.hb.lab1", 0.1) == (False, 0)
    assert limiter.admit("ha.hb.lab2", 0.2) == (True, 0)
    assert limiter.admit("ha.hb.lab1", 10.0) == (True, 1)


def test_the_limiter_forgets_the_oldest_senders_beyond_its_bound() -> None:
    """Senders are subject tokens, which a client may vary at will: the limiter remembers at
    most `max_senders`, forgetting the least recently logged (which costs one extra line)."""
    limiter = WarnLimiter(window_s=10.0, max_senders=3)
    for i in range(100):
        assert limiter.admit(f"s{i}", 0.0) == (True, 0)
    assert len(limiter._senders) == 3
    assert limiter.admit("s99", 1.0) == (False, 0)  # still remembered
    assert limiter.admit("s0", 1.0) == (True, 0)  # forgotten: logged again
