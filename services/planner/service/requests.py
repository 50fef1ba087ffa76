"""What the planner service is asked (docs/operations.md, "The planner service"): one model per
endpoint, parsed from the request's bytes into a pool (or None: the live pool) and the
question. Pure: bytes in, a request or a RequestError out.

Every bad request is a RequestError with code 400 and one line that says what is wrong and
what to send instead; the shell turns it into a service error.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from schemas import VM, Host, Pool, PoolError, Priority, parse_pool

Endpoint = Literal["plan", "what-if", "hypothetical", "evacuate"]
ENDPOINTS: tuple[Endpoint, ...] = ("plan", "what-if", "hypothetical", "evacuate")

BAD_REQUEST = 400
NO_POOL = 503
BUG = 500


class RequestError(Exception):
    """A request the planner cannot answer: `code` (400, 503, 500) and a one-line message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = " ".join(message.split())

    def __str__(self) -> str:
        return self.message


def bad_request(message: str) -> RequestError:
    return RequestError(BAD_REQUEST, message)


# -- the request bodies --------------------------------------------------------------------

WorkLimit = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Names = Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    pool: dict[str, Any] | None = None
    work_limit: WorkLimit | None = None


class PlanBody(_Body):
    pass


class WhatIfBody(_Body):
    fail: Names


class ChangeBody(BaseModel):
    """`services.planner.PoolChange`, as JSON: hosts and VMs in the pool file's form."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    add_hosts: list[Host] = []
    remove_hosts: list[str] = []
    add_vms: list[VM] = []
    remove_vms: list[str] = []
    set_priority: dict[str, Priority] = {}
    set_ntol: Annotated[int, Field(strict=True, ge=0)] | None = None

    @field_validator("set_priority", mode="before")
    @classmethod
    def _pairs(cls, value: Any) -> Any:
        """{"web 1": "restart"}, or the PoolChange's own pairs [["web 1", "restart"]]."""
        if isinstance(value, list) and all(isinstance(p, list) and len(p) == 2 for p in value):
            return {name: priority for name, priority in value}
        return value


class HypotheticalBody(_Body):
    change: ChangeBody


class EvacuateBody(_Body):
    host: Annotated[str, Field(min_length=1)]


BODIES: dict[Endpoint, type[_Body]] = {
    "plan": PlanBody,
    "what-if": WhatIfBody,
    "hypothetical": HypotheticalBody,
    "evacuate": EvacuateBody,
}
EXAMPLES: dict[Endpoint, str] = {
    "plan": '{} or {"pool": {...}, "work_limit": 5}',
    "what-if": '{"fail": ["lab1"]}',
    "hypothetical": '{"change": {"set_ntol": 1}}',
    "evacuate": '{"host": "lab1"}',
}


class Request(NamedTuple):
    """A parsed request: `pool` None means the live pool (the event log's)."""

    endpoint: Endpoint
    body: _Body
    pool: Pool | None

    @property
    def limit(self) -> dict[str, Any]:
        """Keyword arguments for the planner core: its own default unless the request set one."""
        return {} if self.body.work_limit is None else {"work_limit": self.body.work_limit}


def parse_request(endpoint: Endpoint, data: bytes) -> Request:
    """The request `data` makes to `endpoint`; RequestError(400) when it is not one."""
    hint = f"send a JSON object such as {EXAMPLES[endpoint]}"
    raw = _json_object(data, hint)
    try:
        body = BODIES[endpoint].model_validate(raw)
    except ValidationError as exc:
        raise bad_request(f"{_first_error(exc, BODIES[endpoint])} ({hint})") from None
    pool = None if body.pool is None else _pool(body.pool)
    return Request(endpoint, body, pool)


def _json_object(data: bytes, hint: str) -> dict[str, Any]:
    if not data.strip():
        return {}  # `nats req planner.plan ''`: the empty request asks about the live pool
    try:
        raw = json.loads(data)
    except json.JSONDecodeError as exc:
        where = f"{exc.msg} at line {exc.lineno}, column {exc.colno}"
        raise bad_request(f"the request is not valid JSON: {where} ({hint})") from None
    except UnicodeDecodeError:
        raise bad_request(f"the request is not UTF-8 text ({hint})") from None
    if not isinstance(raw, dict):
        raise bad_request(f"the request must be a JSON object, not {_kind(raw)} ({hint})")
    return raw


def _pool(data: dict[str, Any]) -> Pool:
    """The request's pool, checked with the pool file's own rules and messages."""
    try:
        return parse_pool(json.dumps(data), "pool.json")
    except PoolError as exc:
        raise bad_request(
            f"pool: {str(exc).removeprefix('pool.json: ')} (send the pool file's JSON form, "
            "spec/pool-format.md, or leave pool out to ask about the live pool)"
        ) from None


def _first_error(exc: ValidationError, body: type[_Body]) -> str:
    errors = exc.errors(include_url=False)
    # A misspelt key also makes the right one missing: name the misspelling.
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    where = ".".join(str(step) for step in err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        known = _known_keys(err["loc"], body)
        return f"unknown key {where!r}{known}"
    if kind == "missing":
        return f"{where!r} is missing"
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"{where}: {msg}" if where else msg


def _known_keys(loc: tuple[int | str, ...], body: type[_Body]) -> str:
    """`: expected one of ...` for a key of the body or of its change, else nothing."""
    model: type[BaseModel] | None = None
    if len(loc) == 1:
        model = body
    elif len(loc) == 2 and loc[0] == "change":
        model = ChangeBody
    return f": expected one of {', '.join(model.model_fields)}" if model else ""


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )
