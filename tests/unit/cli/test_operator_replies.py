"""What the CLI makes of the system's answers (docs/operations.md): an OpReply's code decides
the exit status (invalid 2, refused and conflict 1), its error and hint make the one line; the
planner's service errors and unusable answers are one-line errors too; requests leave unset
fields out."""

from __future__ import annotations

import json

import pytest

from schemas.ops import HAEnable, HostEvacuate, OpReply, PoolSet, VMSet
from services.cli.events import EXIT_NATS_UNAVAILABLE
from services.cli.ops import (
    EXIT_REFUSED,
    Refused,
    outcome,
    planner_answer,
    read_reply,
    request_body,
)
from services.cli.output import UserError, report_error


def test_an_accepted_request_gives_its_detail() -> None:
    """ok: the detail comes back as it is, no error raised."""
    detail = {"moves": [{"vm": "Minion 1", "host": "lab2"}], "events": ["vm_evacuated"]}
    assert outcome(OpReply(ok=True, detail=detail)) == detail


@pytest.mark.parametrize(
    ("code", "status"),
    [("invalid", 2), ("refused", EXIT_REFUSED), ("conflict", EXIT_REFUSED), (None, EXIT_REFUSED)],
)
def test_refusal_codes_map_to_exit_statuses(code: str | None, status: int) -> None:
    """invalid is bad input (2); refused, conflict and a refusal without a code are an
    answer, "no" (1); the error and the hint are carried unchanged."""
    reply = OpReply(ok=False, error="max failures would be 0 < ntol 1", hint="free memory",
                    code=code)  # fmt: skip
    with pytest.raises(UserError) as raised:
        outcome(reply)
    assert raised.value.exit_code == status
    assert str(raised.value) == "max failures would be 0 < ntol 1"
    assert raised.value.hint == "free memory"


def test_a_refusal_is_one_line_with_error_and_hint(capsys: pytest.CaptureFixture[str]) -> None:
    """The line the operator sees names the leader's error and its hint, even when the leader
    put line breaks in them."""
    reply = OpReply(ok=False, error="cannot protect Big VM:\nno room", hint="add a host",
                    code="refused")  # fmt: skip
    with pytest.raises(Refused) as raised:
        outcome(reply)
    report_error(raised.value)
    assert capsys.readouterr().err == (
        "haplan: error: cannot protect Big VM: no room (add a host)\n"
    )


def test_a_refusal_without_an_error_still_says_something() -> None:
    """A leader that refuses without saying why still gives a readable message."""
    with pytest.raises(Refused, match="without saying why"):
        outcome(OpReply(ok=False, code="conflict"))


@pytest.mark.parametrize("data", [b"not json", b'{"ok": "maybe"}', b"[]", b'{"detail": {}}'])
def test_an_answer_that_is_no_op_reply_exits_1(data: bytes) -> None:
    """Garbage from the leader is a one-line error (exit 1) naming the problem, not a
    traceback."""
    with pytest.raises(Refused, match="not an operator reply") as raised:
        read_reply(data)
    assert raised.value.exit_code == EXIT_REFUSED


def test_requests_leave_unset_fields_out() -> None:
    """Only what the operator set travels: the leader keeps the other values."""
    assert json.loads(request_body(VMSet(vm="Minion 1", order=2))) == {
        "verb": "vm-set",
        "vm": "Minion 1",
        "order": 2,
    }
    assert json.loads(request_body(PoolSet(allow_overcommit=False))) == {
        "verb": "pool-set",
        "allow_overcommit": False,
    }
    assert json.loads(request_body(HAEnable())) == {"verb": "ha-enable"}
    assert json.loads(request_body(HostEvacuate(host="lab1"))) == {
        "verb": "host-evacuate",
        "host": "lab1",
    }


@pytest.mark.parametrize(
    ("code", "status", "hint"),
    [
        ("400", 2, "--help"),
        ("503", EXIT_NATS_UNAVAILABLE, "haplan pool create"),
        ("500", EXIT_REFUSED, "planner's log"),
    ],
)
def test_planner_service_errors_map_to_exit_statuses(code: str, status: int, hint: str) -> None:
    """A planner service error: 400 (bad request) is 2, 503 (no pool in the log) is 69 with
    how to load one, anything else 1; the message is the planner's description."""
    headers = {"Nats-Service-Error-Code": code, "Nats-Service-Error": "the log holds no pool"}
    with pytest.raises(UserError) as raised:
        planner_answer(headers, b"")
    assert raised.value.exit_code == status
    assert str(raised.value) == "the log holds no pool"
    assert raised.value.hint is not None and hint in raised.value.hint


def test_a_planner_answer_is_its_json_object() -> None:
    """Without a service error the answer is the plan's JSON object, unchanged."""
    plan = {"pool": "Lab pool", "max_host_failures_to_tolerate": 1}
    assert planner_answer({}, json.dumps(plan).encode()) == plan
    assert planner_answer(None, json.dumps(plan).encode()) == plan


@pytest.mark.parametrize("data", [b"", b"[1, 2]", b"\xff"])
def test_a_planner_answer_that_is_no_object_exits_1(data: bytes) -> None:
    """An answer that is not a JSON object is a one-line error (exit 1)."""
    with pytest.raises(Refused, match="not a JSON object"):
        planner_answer({}, data)
