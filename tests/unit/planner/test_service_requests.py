"""The planner service's requests (pure core): what each endpoint accepts, the one-line 400
for what it does not, 503 when the live pool is asked for and the log holds none, and the
answers built from the planner's own results."""

from __future__ import annotations

import json
from typing import Any

import pytest

from schemas import PoolError, pool_to_data
from services.planner import max_failures, restart_plan
from services.planner.service import (
    BAD_REQUEST,
    NO_POOL,
    RequestError,
    answer,
    parse_request,
)
from tests.fixtures.events import lab_pool

LAB = pool_to_data(lab_pool())


def body(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


def refused(endpoint: Any, data: bytes) -> RequestError:
    with pytest.raises(RequestError) as caught:
        request = parse_request(endpoint, data)
        answer(request, lab_pool())
    return caught.value


def test_an_empty_request_asks_about_the_live_pool() -> None:
    """`plan` with no body (or `{}`) carries no pool of its own and no work limit: the live
    pool is planned with the planner's default limit."""
    for data in (b"", b"  ", b"{}"):
        request = parse_request("plan", data)
        assert request.pool is None
        assert request.limit == {}


def test_a_request_may_bring_its_own_pool_and_work_limit() -> None:
    """`pool` in the pool file's JSON form is parsed into a Pool; `work_limit` is handed to
    the planner."""
    request = parse_request("what-if", body(pool=LAB, fail=["lab1"], work_limit=2.5))
    assert request.pool == lab_pool()
    assert request.limit == {"work_limit": 2.5}


def test_the_live_pool_is_used_when_the_request_brings_none() -> None:
    """Without `pool`, the answer is about the pool given as live."""
    reply = answer(parse_request("plan", b"{}"), lab_pool())
    assert reply["pool"] == "Lab pool"
    assert reply == {**max_failures(lab_pool()).to_json(), "hosts": reply["hosts"]}
    assert [h["name"] for h in reply["hosts"]] == ["lab1", "lab2"]


def test_a_live_question_without_a_pool_in_the_log_is_503() -> None:
    """No pool in the log: 503 with the reason (the projection's own message, or the default
    one when the log was never read)."""
    why = PoolError("the event log holds no pool yet (load one with `haplan pool create`)")
    for live in (why, None):
        with pytest.raises(RequestError) as caught:
            answer(parse_request("plan", b"{}"), live)
        assert caught.value.code == NO_POOL
        assert "holds no pool" in caught.value.message
    # A request with its own pool does not need the log.
    assert answer(parse_request("plan", body(pool=LAB)), None)["pool"] == "Lab pool"


def test_what_if_answers_the_restart_plan_of_the_failed_hosts() -> None:
    """`what-if` replies the restart plan's JSON with the pool's name, as the CLI does."""
    reply = answer(parse_request("what-if", body(fail=["lab1"])), lab_pool())
    assert reply == {"pool": "Lab pool", **restart_plan(lab_pool(), ["lab1"]).to_json()}
    assert reply["placements"] == [{"vm": "Minion 1", "host": "lab2"}]


def test_hypothetical_plans_the_changed_pool() -> None:
    """`hypothetical` answers max failures of the pool after the change, and names the
    change; unprotecting the only protected VM lets the pool tolerate every failure."""
    reply = answer(
        parse_request(
            "hypothetical", body(change={"set_priority": {"Minion 1": ""}, "set_ntol": 0})
        ),
        lab_pool(),
    )
    assert reply["host_failures_to_tolerate"] == 0
    assert reply["max_host_failures_to_tolerate"] == 1
    assert reply["changes"] == [
        "set the priority of VM 'Minion 1' to unprotected",
        "set host_failures_to_tolerate to 0",
    ]


def test_set_priority_takes_pairs_as_well_as_a_mapping() -> None:
    """`set_priority` may be PoolChange's own list of pairs; both forms give one answer."""
    pairs = answer(
        parse_request("hypothetical", body(change={"set_priority": [["Minion 1", ""]]})),
        lab_pool(),
    )
    mapping = answer(
        parse_request("hypothetical", body(change={"set_priority": {"Minion 1": ""}})),
        lab_pool(),
    )
    assert pairs == mapping


def test_evacuate_answers_the_moves() -> None:
    """`evacuate` replies the evacuation plan's JSON with the pool's name."""
    reply = answer(parse_request("evacuate", body(host="lab1")), lab_pool())
    assert reply["pool"] == "Lab pool"
    assert reply["possible"] is True
    assert reply["moves"] == [{"vm": "Minion 1", "host": "lab2"}]


@pytest.mark.parametrize(
    ("endpoint", "data", "says"),
    [
        ("plan", b"{not json", "not valid JSON: Expecting property name"),
        ("plan", b"\xff\xfe{", "not"),
        ("plan", b"[1, 2]", "must be a JSON object, not a list"),
        ("plan", b'"plan"', "must be a JSON object, not a string"),
        ("plan", body(pools=LAB), "unknown key 'pools': expected one of pool, work_limit"),
        ("plan", body(work_limit=0), "work_limit: Input should be greater than 0"),
        ("plan", body(work_limit="fast"), "work_limit"),
        ("plan", body(pool={"name": "p"}), "pool: hosts: required key is missing"),
        ("plan", body(pool={**LAB, "hosts": []}), "pool: hosts: a pool needs at least one host"),
        ("what-if", b"{}", "'fail' is missing"),
        ("what-if", body(fial=["lab1"]), "unknown key 'fial'"),
        ("what-if", body(fail=[]), "fail: List should have at least 1 item"),
        ("what-if", body(fail="lab1"), "fail: Input should be a valid list"),
        ("what-if", body(fail=["lab9"]), "fail: unknown host 'lab9': the pool's hosts are lab1"),
        ("hypothetical", b"{}", "'change' is missing"),
        ("hypothetical", body(change={}), "change: it changes nothing"),
        ("hypothetical", body(change={"set_ntl": 1}), "unknown key 'change.set_ntl'"),
        ("hypothetical", body(change={"set_ntol": -1}), "change.set_ntol"),
        ("hypothetical", body(change={"set_ntol": 5}), "host_failures_to_tolerate is 5"),
        ("hypothetical", body(change={"remove_vms": ["ghost"]}), "unknown VM 'ghost'"),
        ("hypothetical", body(change={"set_priority": {"Minion 1": "always"}}),
         "change.set_priority.Minion 1: Input should be 'restart', 'best-effort' or ''"),
        ("hypothetical", body(change={"add_vms": [{"name": "x"}]}), "change.add_vms.0.memory_mib"),
        ("evacuate", b"{}", "'host' is missing"),
        ("evacuate", body(host=""), "host: String should have at least 1 character"),
        ("evacuate", body(host="lab9"), "host: unknown host 'lab9'"),
    ],
)  # fmt: skip
def test_bad_requests_are_400_with_one_line_saying_what_is_wrong(
    endpoint: Any, data: bytes, says: str
) -> None:
    """Each malformed or impossible request is refused with code 400 and one line naming
    the problem; nothing else escapes (no pydantic dump, no traceback)."""
    error = refused(endpoint, data)
    assert error.code == BAD_REQUEST
    assert says in error.message
    assert "\n" not in error.message
    assert "Traceback" not in error.message


def test_a_malformed_request_says_what_to_send() -> None:
    """The hint of a malformed request shows a request the endpoint accepts."""
    assert '{"fail": ["lab1"]}' in refused("what-if", b"[]").message
    assert '{"host": "lab1"}' in refused("evacuate", b"{}").message
