"""The planner service (`haplan planner`, docs/operations.md): the planner core answering on
the bus and keeping the log's plan current.

This package exports the pure core: requests parsed and answered (the CLI's own JSON),
which events change the capacity picture, and the events that record a plan. The NATS shell
is `services.planner.service.service.PlannerService` (nats.micro endpoints, log follower,
plan recorder), imported by the command that runs it.
"""

from services.planner.service.answers import (
    answer,
    evacuate_answer,
    hypothetical_answer,
    plan_answer,
    what_if_answer,
)
from services.planner.service.recording import RELEVANT, PlanView, Stamp, plan_events, relevant
from services.planner.service.requests import (
    BAD_REQUEST,
    BUG,
    ENDPOINTS,
    NO_POOL,
    Endpoint,
    Request,
    RequestError,
    parse_request,
)

__all__ = [
    "BAD_REQUEST",
    "BUG",
    "ENDPOINTS",
    "NO_POOL",
    "RELEVANT",
    "Endpoint",
    "PlanView",
    "Request",
    "RequestError",
    "Stamp",
    "answer",
    "evacuate_answer",
    "hypothetical_answer",
    "parse_request",
    "plan_answer",
    "plan_events",
    "relevant",
    "what_if_answer",
]
