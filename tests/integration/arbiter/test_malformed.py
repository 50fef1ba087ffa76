"""Malformed input on every subject the arbiter reads is logged and counted, never a crash,
and never taken for a decision: the service keeps leading, accepting joins and answering."""

from __future__ import annotations

import json
from collections.abc import Callable

from schemas.events import HostFenced, LeaderElected
from schemas.messages import FencedNotice
from services.common.lease_bucket import host_lease_key
from tests.integration.arbiter.conftest import Pool
from tests.integration.arbiter.players import (
    ArbiterProcess,
    both_joined,
    events,
    eventually,
    first_event,
    status,
)

# Subject, payload, and the `subject` label the arbiter counts it under.
GARBAGE = [
    ("ha.hb.lab1", b"not json at all", "hb"),
    ("ha.sto.lab1", b'{"observer": "lab1"}', "sto"),  # no incarnation
    # A valid notice, but lab1's collector cannot speak for lab2.
    ("ha.fenced.lab1", FencedNotice(host="lab2", incarnation="x").model_dump_json().encode(),
     "fenced"),
    ("ha.join.lab1", b"\xff\xfe\x00", "join"),
    ("ha.report.lab1", b'{"host": "lab1", "seq": -1}', "report"),
]  # fmt: skip


async def test_malformed_messages_are_counted_and_the_arbiter_keeps_working(
    pool: Pool, spawn_arbiter: Callable[[str], ArbiterProcess]
) -> None:
    """Garbage on ha.hb/ha.sto/ha.fenced/ha.join/ha.report, a lease value that is no lease,
    and a status request that is not a JSON object: each is counted under its subject, the
    bad request gets a one-line error, and afterwards hosts still join and status still
    answers; the spoofed fenced notice fences nobody."""
    a1 = spawn_arbiter("a1")
    await eventually(lambda: first_event(pool.store, LeaderElected), 30, "a1 leads")
    await eventually(lambda: status(pool.nc), 30, "the leader answers status")

    for subject, payload, _ in GARBAGE:
        await pool.nc.publish(subject, payload)
    await pool.kv.put(host_lease_key("lab1"), b"no lease here")
    reply = await pool.nc.request("ha.op.status", b"[1, 2]", timeout=30)
    refused = json.loads(reply.data)
    assert refused["ok"] is False and "\n" not in refused["error"] and refused["hint"]

    labels = [label for _, _, label in GARBAGE] + ["lease", "op"]

    async def all_counted() -> bool:
        return all(
            a1.metric("haplan_arbiter_malformed_messages_total", subject=label) == 1
            for label in labels
        )

    await eventually(all_counted, 30, f"one malformed message counted for each of {labels}")
    warned = [line for line in a1.log_lines() if line.get("event") == "malformed message ignored"]
    assert {line["subject"] for line in warned} >= {subject for subject, _, _ in GARBAGE}

    await pool.host("lab1", ("Minion 1",))
    await pool.host("lab2")
    await both_joined(pool.store, pool.hosts)
    answer = await status(pool.nc)
    assert answer is not None and answer["ok"] is True
    assert [h["state"] for h in answer["hosts"]] == ["live", "live"]
    assert [r for r in await events(pool.store) if isinstance(r.event, HostFenced)] == []
    assert a1.proc.poll() is None
