"""The planner service's answers: the same JSON as `haplan plan --json`, `haplan what-if
--json` and `haplan evacuate --json`, built from the planner core's own results and the
host rows of schemas.plan_hosts (which the CLI renders too). Pure: a pool
and a request in, JSON out.

Blocking: a question may run CP-SAT for its whole work limit; the shell calls `answer` in a
worker thread.
"""

from __future__ import annotations

from typing import Any

from schemas import Pool, PoolError
from schemas.plan_hosts import host_rows
from services.planner import (
    PoolChange,
    apply_change,
    describe_change,
    evacuation_plan,
    max_failures,
    restart_plan,
)
from services.planner.errors import UnknownNameError
from services.planner.service.requests import (
    NO_POOL,
    ChangeBody,
    EvacuateBody,
    HypotheticalBody,
    Request,
    RequestError,
    WhatIfBody,
    bad_request,
)

NO_LIVE_POOL = "the event log holds no pool yet (load one with `haplan pool create POOL`)"


def answer(request: Request, live: Pool | PoolError | None) -> dict[str, Any]:
    """The reply to `request`. `live` is the pool the log describes now (or why there is
    none); it is used when the request brings no pool of its own."""
    pool = request.pool if request.pool is not None else _live(live)
    body, limit = request.body, request.limit
    if isinstance(body, WhatIfBody):
        return what_if_answer(pool, tuple(body.fail), limit)
    if isinstance(body, HypotheticalBody):
        return hypothetical_answer(pool, change_of(body.change), limit)
    if isinstance(body, EvacuateBody):
        return evacuate_answer(pool, body.host, limit)
    return plan_answer(pool, limit)


def plan_answer(pool: Pool, limit: dict[str, Any]) -> dict[str, Any]:
    """As `haplan plan POOL --json`."""
    return {**max_failures(pool, **limit).to_json(), "hosts": host_rows(pool)}


def what_if_answer(pool: Pool, failed: tuple[str, ...], limit: dict[str, Any]) -> dict[str, Any]:
    """As `haplan what-if POOL --fail H1,H2 --json`."""
    try:
        restart = restart_plan(pool, failed, **limit)
    except UnknownNameError as exc:
        raise bad_request(f"fail: {exc}") from None
    return {"pool": pool.name, **restart.to_json()}


def hypothetical_answer(pool: Pool, change: PoolChange, limit: dict[str, Any]) -> dict[str, Any]:
    """As `haplan plan --json` for the pool after `change`, with the change in words."""
    try:
        changed = apply_change(pool, change)
    except (UnknownNameError, ValueError) as exc:
        raise bad_request(f"change: {exc}") from None
    return {**plan_answer(changed, limit), "changes": describe_change(change)}


def evacuate_answer(pool: Pool, host: str, limit: dict[str, Any]) -> dict[str, Any]:
    """As `haplan evacuate POOL HOST --json`."""
    try:
        result = evacuation_plan(pool, host, **limit)
    except UnknownNameError as exc:
        raise bad_request(f"host: {exc}") from None
    return {"pool": pool.name, **result.to_json()}


def change_of(body: ChangeBody) -> PoolChange:
    change = PoolChange(
        add_hosts=tuple(body.add_hosts),
        remove_hosts=tuple(body.remove_hosts),
        add_vms=tuple(body.add_vms),
        remove_vms=tuple(body.remove_vms),
        set_priority=tuple(body.set_priority.items()),
        set_ntol=body.set_ntol,
    )
    if change == PoolChange():
        raise bad_request(
            'change: it changes nothing (give e.g. {"set_ntol": 1} or {"add_vms": [...]})'
        )
    return change


def _live(live: Pool | PoolError | None) -> Pool:
    if isinstance(live, Pool):
        return live
    raise RequestError(NO_POOL, str(live) if live is not None else NO_LIVE_POOL)
