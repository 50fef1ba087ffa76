"""Events larger than one bus message (services/common/eventstore/fragments.py): cut on
append, put back together on read, never handed on half or corrupted."""

from __future__ import annotations

import random

from services.common.eventstore.fragments import (
    DIGEST,
    FRAGMENT,
    FRAGMENT_BYTES,
    Message,
    Reassembler,
    split,
    whole_limit,
)
from services.common.payload import MessageTooLarge, check_size, wire_size

LIMIT = 512 * 1024
EVENT_ID = "0b6c1f7e-6c1d-4e0a-9a53-0d7f8f3c2a11"


def _payload(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


def _feed(r: Reassembler, messages: list[Message], first_seq: int = 1) -> list[object]:
    out: list[object] = []
    for seq, m in enumerate(messages, start=first_seq):
        got = r.take(seq, m.subject, m.payload, m.headers)
        out += list(got.problems)
        if got.payload is not None:
            out.append(got.payload)
    return out


def test_an_event_that_fits_is_one_message_as_before() -> None:
    """Up to the limit less the headers' room an event stays one message with its event id
    as message id and no fragment header: small events are stored exactly as before."""
    payload = _payload(whole_limit(LIMIT))
    [only] = split("ha.evt.pool", payload, EVENT_ID, LIMIT)
    assert only == Message("ha.evt.pool", payload, EVENT_ID, {})


def test_a_large_event_is_cut_into_fragments_that_give_it_back() -> None:
    """A 2 MB event becomes fragments of at most FRAGMENT_BYTES, each under the server's
    limit with its headers, numbered i/n, with distinct message ids (the first is the event
    id), the digest on the last; reading them in order gives back the exact bytes, once."""
    payload = _payload(2_000_000)
    messages = split("ha.evt.pool", payload, EVENT_ID, LIMIT)
    n = len(messages)
    assert n == -(-len(payload) // FRAGMENT_BYTES)
    assert [m.headers[FRAGMENT] for m in messages] == [f"{i}/{n}" for i in range(1, n + 1)]
    assert messages[0].msg_id == EVENT_ID
    assert len({m.msg_id for m in messages}) == n
    assert all(DIGEST not in m.headers for m in messages[:-1]) and DIGEST in messages[-1].headers
    for m in messages:
        check_size(_Limit(LIMIT), m.subject, m.payload, {**m.headers, "Nats-Msg-Id": m.msg_id})
    assert _feed(Reassembler(), messages) == [payload]


def test_a_low_server_limit_gives_smaller_fragments() -> None:
    """Fragments follow the server's max_payload when it is below the usual fragment size."""
    payload = _payload(100_000)
    messages = split("ha.evt.pool", payload, EVENT_ID, 20_000)
    assert all(len(m.payload) <= whole_limit(20_000) for m in messages)
    assert _feed(Reassembler(), messages) == [payload]


def test_whole_events_around_fragmented_ones_are_read_in_order() -> None:
    """Small events before and after a fragmented one come through untouched, in order."""
    big = _payload(700_000)
    messages = [
        Message("ha.evt.host.a", b"first", "a", {}),
        *split("ha.evt.pool", big, EVENT_ID, LIMIT),
        Message("ha.evt.host.b", b"last", "b", {}),
    ]
    assert _feed(Reassembler(), messages) == [b"first", big, b"last"]


def test_a_half_written_event_is_never_handed_on() -> None:
    """Fragments cut short by another message give no event (one problem, the fragments
    named); the message that interrupted them is still read."""
    messages = split("ha.evt.pool", _payload(700_000), EVENT_ID, LIMIT)
    got = _feed(Reassembler(), [*messages[:-1], Message("ha.evt.host.a", b"next", "a", {})])
    assert got[-1] == b"next"
    [problem] = got[:-1]
    assert isinstance(problem, str) and "2 of 3" in problem


def test_a_corrupted_fragment_fails_the_digest() -> None:
    """One altered byte in one fragment: no event, a problem naming the digest."""
    messages = split("ha.evt.pool", _payload(700_000), EVENT_ID, LIMIT)
    bad = messages[1]._replace(payload=b"X" + messages[1].payload[1:])
    got = _feed(Reassembler(), [messages[0], bad, messages[2]])
    assert len(got) == 1 and "digest" in str(got[0])


def test_fragments_out_of_order_or_mixed_give_no_event() -> None:
    """A fragment that does not follow its predecessor (skipped, or another event's) breaks
    the event it interrupts: it is unreadable, never stitched into something else."""
    a = split("ha.evt.pool", _payload(700_000, 1), EVENT_ID, LIMIT)
    b = split("ha.evt.pool", _payload(700_000, 2), "other", LIMIT)
    assert not any(isinstance(x, bytes) for x in _feed(Reassembler(), [a[0], a[2]]))
    mixed = _feed(Reassembler(), [a[0], a[1], b[1], b[2], a[2]])
    assert not any(isinstance(x, bytes) for x in mixed)


def test_a_read_that_starts_inside_an_event_skips_its_rest_quietly() -> None:
    """Reading from a sequence in the middle of an event's fragments (haplan events
    --since N): its remaining fragments are skipped without a problem; the next event reads."""
    messages = split("ha.evt.pool", _payload(700_000), EVENT_ID, LIMIT)
    got = _feed(Reassembler(), [*messages[1:], Message("ha.evt.host.a", b"next", "a", {})])
    assert got == [b"next"]


class _Limit:
    def __init__(self, limit: int) -> None:
        self.max_payload = limit


def test_the_size_check_counts_headers_and_names_size_and_limit() -> None:
    """A payload at the limit passes alone and fails with headers (the server counts both);
    the error is one line with the subject, the size and the limit."""
    payload = b"x" * 1000
    check_size(_Limit(1000), "ha.op.status", payload)
    headers = {"Nats-Msg-Id": "abc"}
    try:
        check_size(_Limit(1000), "ha.op.status", payload, headers)
    except MessageTooLarge as exc:
        text = str(exc)
    else:
        raise AssertionError("a message over the limit with its headers passed")
    assert "\n" not in text
    size = wire_size(payload, headers)
    assert f"{size:,} bytes on ha.op.status" in text and "1,000 bytes (max_payload)" in text
