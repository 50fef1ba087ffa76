"""Running a host's fencing chain for the leader (docs/protocol.md, Power fencing through the
BMC): each agent in order, its power-off then status reads until one says "off" or the
agent's deadline passes, each call in a worker thread under that deadline. The answer is a
PowerOffProof for the core (services.arbiter.core, power_off_answer): the confirming
agent's, or the last one tried, whose `power_state` then says why it is no proof ("on",
"unknown", a failed status read)."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from typing import TypeVar

from schemas.fencing import FencingAgent
from schemas.liveness import PowerOffProof
from services.bmc import agents
from services.bmc.agents import AgentError
from services.common.logging import get_logger

log = get_logger("haplan.bmc")
_T = TypeVar("_T")
POLL_S = 0.5  # between status reads while waiting for "off"


async def _within(deadline_s: float, call: Callable[[], _T]) -> _T:
    """`call()` in a worker thread, given up on after `deadline_s` (the thread is left to
    end on the library's own timeout, which is the same)."""
    try:
        return await asyncio.wait_for(asyncio.to_thread(call), deadline_s)
    except TimeoutError:
        raise AgentError(f"no answer within {deadline_s:g} s") from None


async def power_off(
    host: str, incarnation: str, chain: tuple[FencingAgent, ...],
    clock: Callable[[], float] = time.monotonic,
) -> PowerOffProof:  # fmt: skip
    """Power `host` off through `chain`; the proof of the agent that confirmed it, else the
    last agent's answer. `chain` must not be empty."""
    for kind in sorted({a.kind for a in chain}):
        await asyncio.to_thread(agents.load, kind)
    started = clock()
    proof: PowerOffProof | None = None
    for level, agent in enumerate(chain, start=1):
        answer, state = await _try(agent, clock)
        proof = PowerOffProof(
            agent=agent.label, level=level, incarnation=incarnation, answer=answer,
            power_state=state, answered_after_s=max(0.0, clock() - started),
        )  # fmt: skip
        log.info("bmc power-off", host=host, agent=agent.label, answer=answer, state=state)
        if state == "off":
            break
    assert proof is not None, "an empty chain is never run"
    return proof


async def _try(agent: FencingAgent, clock: Callable[[], float]) -> tuple[str, str]:
    """The power-off's answer and the last status read after it, read again every
    POLL_S until it says "off" or the agent's deadline has passed since the power-off was
    taken (a BMC takes a moment to cut the power); "failed: why" when the power-off failed."""
    try:
        answer = await _within(agent.timeout_s, functools.partial(agents.power, agent, "off"))
    except AgentError as exc:
        return f"failed: {exc}", "unknown"
    until = clock() + agent.timeout_s
    state = "unknown"
    while True:
        left = until - clock()
        try:
            state = await _within(max(left, 0.1), functools.partial(agents.power_state, agent))
        except AgentError as exc:
            state = f"unknown (status read failed: {exc})"
        if state == "off" or clock() + POLL_S > until:
            return answer, state
        await asyncio.sleep(POLL_S)


async def power_on(chain: tuple[FencingAgent, ...]) -> str:
    """The operator's power-on (`haplan host power-on`): the first agent that takes it; the
    answer, or AgentError with every agent's failure."""
    failures = []
    for agent in chain:
        try:
            return await _within(agent.timeout_s, functools.partial(agents.power, agent, "on"))
        except AgentError as exc:
            failures.append(f"{agent.label}: {exc}")
    raise AgentError("; ".join(failures) or "no fencing chain")
