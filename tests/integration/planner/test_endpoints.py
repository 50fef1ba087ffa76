"""The planner service on a real nats-server: each endpoint answers what the CLI prints,
about the live pool or a pool the request brings; replicas are found by `$SRV.PING`; bad
requests, a missing pool and a bug are service errors and the replica keeps answering; PINGs
are answered while a plan is being computed."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bench.pools import random_pool
from schemas import Pool, dump_pool, pool_to_data
from schemas.events import PoolCreated
from services.cli.app import app
from services.cli.commands import attach_all
from services.planner.service import endpoints
from tests.fixtures.events import lab_pool, make, rich_pool
from tests.integration.planner.conftest import (
    Bus,
    ServiceError,
    gather_replies,
    raise_service_error,
    request_to,
)

attach_all()  # every command on the app, as `haplan` attaches the one it runs

QUESTIONS: list[tuple[str, dict[str, Any], list[str]]] = [
    ("plan", {}, ["plan"]),
    ("what-if", {"fail": ["lab1"]}, ["what-if", "--fail", "lab1"]),
    ("evacuate", {"host": "lab1"}, ["evacuate", "HOST=lab1"]),
    ("hypothetical", {"change": {"set_ntol": 0}}, ["plan"]),
]


def cli_json(tmp_path: Path, pool: Pool, args: list[str]) -> Any:
    """What `haplan ARGS POOL_FILE --json` prints, run in this process."""
    path = tmp_path / "pool.json"
    path.write_text(dump_pool(pool, "json"))
    command, *rest = args
    host = [a.removeprefix("HOST=") for a in rest if a.startswith("HOST=")]
    options = [a for a in rest if not a.startswith("HOST=")]
    result = CliRunner().invoke(app, [command, str(path), *host, *options, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def expected(tmp_path: Path, pool: Pool, endpoint: str, args: list[str]) -> Any:
    if endpoint != "hypothetical":
        return cli_json(tmp_path, pool, args)
    # `plan --json` for the changed pool, and the change in words.
    changed = pool.model_copy(
        update={"ha": pool.ha.model_copy(update={"host_failures_to_tolerate": 0})}
    )
    return {**cli_json(tmp_path, changed, args), "changes": ["set host_failures_to_tolerate to 0"]}


async def test_each_endpoint_answers_the_live_pool_as_the_cli_does(
    bus: Bus, tmp_path: Path
) -> None:
    """With the lab pool in the log and no pool in the requests, plan, what-if, evacuate and
    hypothetical reply exactly the JSON the CLI prints for that pool."""
    await bus.append(make(PoolCreated, epoch=0, pool=lab_pool()))
    await bus.planner("p1")
    await bus.plan_after(1)  # the replica has read the pool (and recorded its plan)
    for endpoint, request, args in QUESTIONS:
        reply = await bus.ask(endpoint, request)
        assert reply == expected(tmp_path, lab_pool(), endpoint, args), endpoint


async def test_each_endpoint_answers_a_pool_the_request_brings(bus: Bus, tmp_path: Path) -> None:
    """A request with `pool` (the pool file's JSON form) is answered about that pool, as the
    CLI answers about the file, even though the log holds no pool at all."""
    await bus.planner("p1")
    pool = rich_pool()
    data = pool_to_data(pool)
    questions = [
        ("plan", {}, ["plan"]),
        ("what-if", {"fail": ["h1", "h 3"]}, ["what-if", "--fail", "h1,h 3"]),
        ("evacuate", {"host": "h1"}, ["evacuate", "HOST=h1"]),
    ]
    for endpoint, request, args in questions:
        reply = await bus.ask(endpoint, {"pool": data, **request})
        assert reply == cli_json(tmp_path, pool, args), endpoint
    hypothetical = await bus.ask(
        "hypothetical", {"pool": data, "change": {"remove_vms": ["batch"]}}
    )
    without = pool.model_copy(update={"vms": tuple(v for v in pool.vms if v.name != "batch")})
    assert hypothetical == {
        **cli_json(tmp_path, without, ["plan"]),
        "changes": ["remove VM 'batch'"],
    }


async def test_ping_finds_every_replica_and_info_their_endpoints(bus: Bus) -> None:
    """`$SRV.PING.planner` is answered by both replicas (two ids, name planner); INFO lists
    the four endpoints on planner.<name> in queue group q."""
    first, second = await bus.planner("p1"), await bus.planner("p2")
    pings = await gather_replies(bus.nc, "$SRV.PING.planner")
    assert sorted(p["id"] for p in pings) == sorted([first.micro.id, second.micro.id])  # type: ignore[union-attr]
    assert {p["name"] for p in pings} == {"planner"}
    assert sorted(p["metadata"]["replica"] for p in pings) == ["p1", "p2"]
    info = json.loads((await request_to(bus.nc, "$SRV.INFO.planner", b"", timeout=5)).data)
    assert {(e["name"], e["subject"], e["queue_group"]) for e in info["endpoints"]} == {
        ("plan", "planner.plan", "q"),
        ("what-if", "planner.what-if", "q"),
        ("hypothetical", "planner.hypothetical", "q"),
        ("evacuate", "planner.evacuate", "q"),
    }


async def test_bad_requests_are_400_and_the_replica_keeps_answering(bus: Bus) -> None:
    """Garbage, wrong shapes and unknown names on every endpoint come back as code 400 with
    a one-line description; each is counted; the replica then answers a good request."""
    await bus.append(make(PoolCreated, epoch=0, pool=lab_pool()))
    replica = await bus.planner("p1")
    bad = {
        "plan": [b"{nope", b"[]", b'{"work_limit": -1}', b'{"pool": {"name": "x"}}'],
        "what-if": [b"{}", b'{"fail": "lab1"}', b'{"fail": ["lab9"]}'],
        "hypothetical": [b'{"change": {}}', b'{"change": {"set_ntol": 7}}'],
        "evacuate": [b'{"host": 1}', b'{"host": "nowhere"}', b"\xff"],
    }
    for endpoint, requests in bad.items():
        for data in requests:
            reply = await request_to(bus.nc, f"planner.{endpoint}", data, timeout=10)
            with pytest.raises(ServiceError) as caught:
                raise_service_error(reply)
            assert caught.value.code == "400", (endpoint, data)
            assert caught.value.description and "\n" not in caught.value.description
            assert "Traceback" not in caught.value.description
    for endpoint, requests in bad.items():
        counted = replica.metrics.malformed.labels(endpoint)._value.get()
        assert counted == len(requests), endpoint
    assert (await bus.ask("what-if", {"fail": ["lab1"]}))["placements"] == [
        {"vm": "Minion 1", "host": "lab2"}
    ]
    stats = json.loads((await request_to(bus.nc, "$SRV.STATS.planner", b"", timeout=5)).data)
    errors = {e["name"]: e["num_errors"] for e in stats["endpoints"]}
    assert errors == {endpoint: len(requests) for endpoint, requests in bad.items()}


async def test_a_live_question_before_any_pool_is_503(bus: Bus) -> None:
    """With an empty log, a question about the live pool is a 503 saying the log holds no
    pool yet and how to load one."""
    await bus.planner("p1")
    with pytest.raises(ServiceError) as caught:
        await bus.ask("plan")
    assert caught.value.code == "503"
    assert "holds no pool" in caught.value.description
    assert "haplan pool create" in caught.value.description


async def test_a_bug_is_a_500_with_a_short_description(
    bus: Bus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected exception inside the planner is code 500 with one line naming its kind
    (the traceback stays in the replica's log), and the replica answers the next request."""
    await bus.planner("p1")

    def broken(*_: Any) -> Any:
        raise ZeroDivisionError("division by zero deep inside")

    monkeypatch.setattr(endpoints, "answer", broken)
    with pytest.raises(ServiceError) as caught:
        await bus.ask("plan", {"pool": pool_to_data(lab_pool())})
    assert caught.value.code == "500"
    assert "ZeroDivisionError" in caught.value.description
    assert "deep inside" not in caught.value.description and "\n" not in caught.value.description
    monkeypatch.undo()
    assert (await bus.ask("plan", {"pool": pool_to_data(lab_pool())}))["pool"] == "Lab pool"


async def test_pings_are_answered_while_a_plan_is_computed(bus: Bus) -> None:
    """A plan that runs for a second of CP-SAT and search (the 64 x 2000 pool the benchmark
    cannot close, work limit 1) runs in a worker thread: a PING sent after it started is
    answered before the plan's reply."""
    await bus.planner("p1")
    pool = random_pool(64, 2000, load=0.85, protected=0.7, seed=3)
    request = json.dumps({"pool": pool_to_data(pool), "work_limit": 1.0}).encode()
    answered: list[str] = []

    async def plan() -> None:
        reply = await request_to(bus.nc, "planner.plan", request, timeout=60)
        raise_service_error(reply)
        assert json.loads(reply.data)["exact"] is False  # it did run out of work
        answered.append("plan")

    planning = asyncio.create_task(plan())
    await asyncio.sleep(0.3)  # the request is in, the search under way
    started = time.monotonic()
    await request_to(bus.nc, "$SRV.PING.planner", b"", timeout=5)
    answered.append("ping")
    ping_s = time.monotonic() - started
    await planning
    assert answered == ["ping", "plan"], f"PING took {ping_s:.2f} s"
