"""One operator command's conversation with the running system (docs/operations.md): connect,
ask, and turn the answer into output or an exit status.

Only the arbiter leader subscribes to `ha.op.<verb>` and only planner replicas to
`planner.<endpoint>`, so a request that nobody answers means there is no leader (no planner):
exit 69 with what to start. The leader's refusals keep their meaning in the exit status:
`invalid` is bad input (2), `refused` and `conflict` are an answer, "no" (1).

NATS is imported inside the functions: every `haplan` start imports this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from rich.markup import escape

from schemas.ops import OpReply, OpRequest, op_subject
from services.cli.events import (
    PERMISSION_HINT,
    REFUSED_HINT,
    NatsRefused,
    NatsUnreachable,
    bus_settings,
)
from services.cli.output import UserError, console, emit_json, err_console
from services.common.payload import TOO_LARGE, TOO_LARGE_HINT, MessageTooLarge, check_size

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.aio.msg import Msg

    from services.common.settings import BusSettings

EXIT_REFUSED = 1
# The leader answers status from memory; a collector its newest report.
STATUS_TIMEOUT_S = 3.0
# Admission control runs the planner's exact search (10 s by default) before answering, and a
# planner request is that search: wait well past it before calling the service silent.
OP_TIMEOUT_S = 30.0
PLANNER_TIMEOUT_S = 30.0

NATS_HINT = "start it with `haplan up`, or point NATS_URL / --nats at a NATS server"
NO_LEADER_HINT = (
    "start `haplan arbiter` or `haplan up`; when a leader fails, a standby takes over "
    "within ha.timeout_s"
)
NO_PLANNER_HINT = "start `haplan planner` or `haplan up`"


class Refused(UserError):
    """The system understood the request and said no (admission control, a conflict), or
    answered with something unusable: one line, exit 1."""

    exit_code = EXIT_REFUSED


class Silent(Exception):
    """Nobody answered a request; the message says how (no subscriber, or no answer in time)."""


# Transport -----------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def bus(settings: BusSettings) -> AsyncIterator[Client]:
    """A NATS connection for one command; unreachable NATS is a one-line error, exit 69."""
    from services.common.bus import BusRefused, BusUnavailable, connect
    from services.common.logging import configure_logging

    configure_logging("warning")
    try:
        nc = await connect(
            settings, name="haplan-cli", initial_timeout_s=settings.connect_timeout_s
        )
    except BusRefused as exc:
        raise NatsRefused(str(exc), REFUSED_HINT) from None
    except BusUnavailable as exc:
        raise NatsUnreachable(str(exc), NATS_HINT) from None
    try:
        yield nc
    finally:
        with contextlib.suppress(Exception):
            await nc.close()


async def ask(nc: Client, subject: str, body: bytes, timeout: float) -> Msg:
    """The answer to one request; Silent when nobody subscribes or nobody answers in time,
    NatsRefused (at once, as a rule) when the server refuses this user the subject."""
    import nats.errors

    try:
        check_size(nc, subject, body)
    except MessageTooLarge as exc:
        raise UserError(str(exc), TOO_LARGE_HINT) from None
    request = asyncio.ensure_future(nc.request(subject, body, timeout=timeout))
    try:
        await _refused_at_once(nc, subject, request)
        return await request
    except nats.errors.NoRespondersError:
        raise Silent(f"nobody answers on {subject}") from None
    except nats.errors.TimeoutError:
        _raise_if_refused(nc, subject)  # refused too late for the quick check
        raise Silent(f"no answer on {subject} within {timeout:g} s") from None
    except nats.errors.Error as exc:
        raise NatsUnreachable(
            f"NATS failed during a request on {subject}: {exc}", NATS_HINT
        ) from None


async def _refused_at_once(nc: Client, subject: str, request: asyncio.Future[Msg]) -> None:
    """A refused publish gets no answer, only an -ERR to the sender: rather than wait for the
    request's timeout, a round trip to the server once the request is out (the server's -ERR
    comes before its PONG) tells."""
    await asyncio.sleep(0.02)  # the request subscribes its inbox, then publishes
    with contextlib.suppress(Exception):
        await nc.flush(timeout=int(STATUS_TIMEOUT_S))
    if not request.done():
        try:
            _raise_if_refused(nc, subject)
        except NatsRefused:
            request.cancel()
            with contextlib.suppress(BaseException):
                await request
            raise


def _raise_if_refused(nc: Client, subject: str) -> None:
    from services.common.bus import refused

    denied = refused(nc)
    # nats-py passes the server's words on in lower case.
    if denied is not None and f'"{subject.lower()}"' in denied.lower():
        raise NatsRefused(f"NATS refused this user: {denied}", PERMISSION_HINT)


def warn(message: str) -> None:
    """A one-line warning on stderr: it never mixes with the JSON on stdout."""
    err_console.print(f"[yellow]haplan: warning: {escape(message)}[/yellow]", soft_wrap=True)


@contextlib.contextmanager
def waiting(what: str, show: bool) -> Iterator[None]:
    """A spinner on a TTY while the system thinks (never with --json or into a pipe)."""
    if show and console.is_terminal:
        with console.status(what):
            yield
    else:
        yield


# Operator requests to the leader ---------------------------------------------------------------


def request_body(op: OpRequest) -> bytes:
    """Fields left unset stay out: the leader keeps their values."""
    return op.model_dump_json(exclude_none=True).encode()


def read_reply(data: bytes) -> OpReply:
    try:
        return OpReply.model_validate_json(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        raise Refused(
            f"the leader's answer is not an operator reply: {err['msg']}",
            "check that the arbiter and this haplan are the same version",
        ) from None


def outcome(reply: OpReply) -> dict[str, Any]:
    """The reply's detail when the request was carried out; else the refusal, raised with the
    exit status its code calls for."""
    if reply.ok:
        return dict(reply.detail)
    message = reply.error or "the leader refused the request without saying why"
    if reply.code == "invalid":
        raise UserError(message, reply.hint)
    raise Refused(message, reply.hint)


async def send(settings: BusSettings, op: OpRequest) -> dict[str, Any]:
    subject = op_subject(op.verb)
    async with bus(settings) as nc:
        try:
            msg = await ask(nc, subject, request_body(op), OP_TIMEOUT_S)
        except Silent as exc:
            raise await _why_silent(nc, op.verb, exc) from None
    return outcome(read_reply(msg.data))


async def _why_silent(nc: Client, verb: str, silent: Silent) -> NatsUnreachable:
    """No leader at all, or a leader that answers status but not this verb (an arbiter
    older than this haplan): different fixes, so different messages."""
    from services.common.wire import OP_STATUS

    if verb != "status":
        try:
            await ask(nc, OP_STATUS, b"{}", STATUS_TIMEOUT_S)
        except Silent:
            pass
        else:
            return NatsUnreachable(
                f"the arbiter leader does not handle {verb}: {silent}",
                "upgrade the arbiters to this haplan's version",
            )
    return NatsUnreachable(f"no arbiter leads the pool: {silent}", NO_LEADER_HINT)


def run_op(
    op: OpRequest,
    nats: str | None,
    as_json: bool,
    sender: Callable[[BusSettings], Coroutine[Any, Any, dict[str, Any]]] | None = None,
) -> None:
    """The body of every `ha.op.<verb>` command: send (or have `sender` send and confirm),
    then print what was done."""
    from services.cli.op_results import op_result

    settings = bus_settings(nats)
    with waiting(f"waiting for the arbiter leader ({op.verb})", show=not as_json):
        detail = asyncio.run(send(settings, op) if sender is None else sender(settings))
    if as_json:
        emit_json({"ok": True, "verb": op.verb, "detail": detail})
        return
    for item in op_result(op, detail):
        console.print(item)


# Planner requests --------------------------------------------------------------------------------


def planner_answer(headers: Mapping[str, str] | None, data: bytes) -> dict[str, Any]:
    """The planner's JSON answer; a service error becomes the one-line error it describes."""
    code = (headers or {}).get("Nats-Service-Error-Code")
    if code:
        why = (headers or {}).get("Nats-Service-Error") or f"the planner failed with code {code}"
        if code == "400":
            raise UserError(why, "see `haplan pool compute-max-failures --help`")
        if code == str(TOO_LARGE):
            raise UserError(why, TOO_LARGE_HINT)
        if code == "503":
            raise NatsUnreachable(why, "load a pool with `haplan pool create POOL`")
        raise Refused(why, "see the planner's log")
    try:
        answer = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        answer = None
    if not isinstance(answer, dict):
        raise Refused("the planner's answer is not a JSON object", "see the planner's log")
    return answer


async def ask_planner(
    settings: BusSettings, endpoint: str, request: dict[str, Any]
) -> dict[str, Any]:
    async with bus(settings) as nc:
        try:
            msg = await ask(
                nc, f"planner.{endpoint}", json.dumps(request).encode(), PLANNER_TIMEOUT_S
            )
        except Silent as exc:
            raise NatsUnreachable(f"no planner answers: {exc}", NO_PLANNER_HINT) from None
    return planner_answer(msg.headers, msg.data)


STATUS_POLL_S = 0.2  # the status is the leader's memory: cheap to ask


async def until_vm_shows(nc: Client, vm: str, wanted: Callable[[dict[str, Any]], bool]) -> None:
    """Ask the leader's status until `vm`'s entry is `wanted` (`vm shutdown` and `vm migrate`
    wait so for their stop or move to be confirmed); a leader change is waited through."""
    from services.common.wire import OP_STATUS

    while True:
        try:
            msg = await ask(nc, OP_STATUS, b"{}", STATUS_TIMEOUT_S)
        except Silent:
            pass  # a leader change: the next leader answers
        else:
            shown = {v.get("name"): v for v in json.loads(msg.data)["vms"]}.get(vm, {})
            if wanted(shown):
                return
        await asyncio.sleep(STATUS_POLL_S)
