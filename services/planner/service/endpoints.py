"""The `planner` nats.micro service: endpoints plan, what-if, hypothetical and evacuate on
`planner.<endpoint>`, queue group `q` (replicas share the work), found by `$SRV.PING.planner`.

Thin: parse (requests), answer in a worker thread (answers: CP-SAT may run for the whole work
limit, and the event loop must keep answering PINGs and following the log), reply JSON. A bad
request or a missing pool is a service error with its code and one-line description; a bug is
code 500 with a short description, its traceback only in this replica's log.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as dist_version

from nats.aio.client import Client
from nats.micro import add_service
from nats.micro.request import Request, ServiceError
from nats.micro.service import Service

from services.common.logging import get_logger
from services.common.payload import TOO_LARGE, MessageTooLarge, check_size
from services.planner.service.answers import answer
from services.planner.service.metrics import PlannerMetrics
from services.planner.service.recording import PlanView
from services.planner.service.requests import (
    BAD_REQUEST,
    BUG,
    ENDPOINTS,
    NO_POOL,
    Endpoint,
    RequestError,
    parse_request,
)

log = get_logger("haplan.planner")

NAME = "planner"
QUEUE_GROUP = "q"
OUTCOME = {BAD_REQUEST: "bad_request", NO_POOL: "no_pool", BUG: "error"}


def service_version() -> str:
    try:
        return dist_version("haplan")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "0.0.0"


async def start_endpoints(
    nc: Client, view: PlanView, metrics: PlannerMetrics, ident: str
) -> Service:
    """Add the `planner` service on `nc`, answering about `view`'s live pool."""
    service = await add_service(
        nc,
        name=NAME,
        version=service_version(),
        description="haplan planner: exact max host failures, restart, what-if and "
        "evacuation plans",
        metadata={"replica": ident},
        queue_group=QUEUE_GROUP,
    )
    group = service.add_group(name=NAME)
    for endpoint in ENDPOINTS:
        await group.add_endpoint(name=endpoint, handler=_handler(endpoint, view, metrics, nc))
    await nc.flush()  # subscribed at the server once this returns: requests find us at once
    return service


def _handler(
    endpoint: Endpoint, view: PlanView, metrics: PlannerMetrics, nc: Client
) -> Callable[[Request], Awaitable[None]]:
    async def handle(request: Request) -> None:
        started = time.perf_counter()
        try:
            parsed = parse_request(endpoint, request.data)
            live = view.live() if parsed.pool is None else None
            reply = await asyncio.to_thread(answer, parsed, live)
        except RequestError as exc:
            metrics.requests.labels(endpoint, OUTCOME.get(exc.code, "error")).inc()
            if exc.code == BAD_REQUEST:
                metrics.malformed.labels(endpoint).inc()
            log.info("request refused", endpoint=endpoint, code=exc.code, error=exc.message)
            raise ServiceError(str(exc.code), exc.message) from None
        except Exception as exc:
            metrics.requests.labels(endpoint, "error").inc()
            log.exception("request failed", endpoint=endpoint, error=repr(exc))
            raise ServiceError(
                str(BUG),
                f"the planner failed on this request ({type(exc).__name__}); "
                "its log has the details",
            ) from None
        metrics.compute_seconds.labels(endpoint).observe(time.perf_counter() - started)
        data = json.dumps(reply).encode()
        try:
            check_size(nc, f"the answer of planner.{endpoint}", data)
        except MessageTooLarge as exc:
            # Sent as is, the server would refuse it and the asker would wait for nothing.
            metrics.requests.labels(endpoint, "error").inc()
            log.warning("answer too large", endpoint=endpoint, error=str(exc))
            await request.respond_error(str(TOO_LARGE), str(exc))
            return
        metrics.requests.labels(endpoint, "ok").inc()
        await request.respond(data)

    return handle
