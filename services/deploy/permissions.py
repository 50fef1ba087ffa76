"""Who may say what on the bus: one NATS user per role, one per host for collectors.

The subjects are those of docs/protocol.md; every service's own subjects come from the
modules that use them, so that a renamed subject cannot leave the permissions behind.
Principles:
- a collector speaks only for its own host: its heartbeat, store observation, fenced notice,
  join request, report and its own lease key; it hears its own commands and status requests;
- only arbiters append decisions to the log, hold the leader lease, revoke host leases, send
  commands and beacons and answer operator requests;
- planners answer their service and append their results on `ha.evt.plan` alone;
- the operator reads the log and sends operator, planner and host-status requests;
- the admin (bootstrap) loads the pool (`haplan pool create`, epoch 0 on `ha.evt.pool`) and may
  create the event stream: the one credential outside "only arbiters append", kept for setup.
Replies go through `allow_responses` (a responder may answer only the requests it received)
rather than publish rights on `_INBOX.>`, which would let a role forge anyone's answers; and
each user reads only its own inboxes, `_INBOX.<user>.>`, not everyone's answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.collector.lease import LEASE_BUCKET, host_lease_key
from services.common import wire
from services.common.identity import inbox_prefix
from services.common.subjects import EVENT_SUBJECTS, EVENTS_ROOT, STREAM, encode_token

JS = "$JS.API"
KV_STREAM = f"KV_{LEASE_BUCKET}"
KV_SUBJECTS = f"$KV.{LEASE_BUCKET}"
PLANS = f"{EVENTS_ROOT}.plan"
POOL_EVENTS = f"{EVENTS_ROOT}.pool"
LEADER_KEY = "arbiter"  # services.arbiter.leader
# Patterns over every host (services.common.wire names one host's subject).
COMMANDS = "ha.cmd.*"
STATUS_REQUESTS = "ha.status.*"
OPERATOR_REQUESTS = "ha.op.>"  # schemas.ops.op_subject
PLANNER_REQUESTS = "planner.>"  # the nats.micro service `planner`'s endpoints
DISCOVERY = "$SRV.>"  # nats.micro's PING / INFO / STATS


@dataclass(frozen=True, slots=True)
class Role:
    """One NATS user: what it may publish and subscribe to."""

    user: str
    password_variable: str  # the environment variable the server reads the password from
    does: str  # one line, for the generated file and the docs
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    responds: bool = False  # may answer the requests it receives (allow_responses)


def inbox(user: str) -> str:
    """The replies to `user`'s requests and its consumers' messages (services.common.identity
    gives each user its own inbox prefix)."""
    return f"{inbox_prefix(user)}.>"


def _reads(stream: str) -> tuple[str, ...]:
    """Read a stream through ordered consumers (nats-py creates one per read, and answers the
    server's flow control on `$JS.FC`)."""
    return (
        f"{JS}.STREAM.INFO.{stream}",
        f"{JS}.CONSUMER.CREATE.{stream}",
        f"{JS}.CONSUMER.CREATE.{stream}.>",
        f"$JS.FC.{stream}.>",
    )


READ_LOG = (f"{JS}.INFO", *_reads(STREAM))
# An appender re-reads the messages after the sequence it expected when an append is refused
# (services.common.eventstore.jetstream: the retry of one that landed).
APPEND_CHECK = (f"{JS}.STREAM.MSG.GET.{STREAM}",)
KEEP_LOG = (f"{JS}.STREAM.CREATE.{STREAM}", f"{JS}.STREAM.UPDATE.{STREAM}")
# A lease is read back by a message get of its key's last value.
READ_LEASE = (f"{JS}.STREAM.INFO.{KV_STREAM}", f"{JS}.STREAM.MSG.GET.{KV_STREAM}")


def collector(host: str) -> Role:
    return Role(
        user=f"collector-{host}",
        password_variable=collector_password_variable(host),
        does=f"the collector of host {host}: speaks for {host} only",
        publish=(
            *READ_LOG,
            *READ_LEASE,
            f"{KV_SUBJECTS}.{host_lease_key(host)}",
            wire.heartbeat_subject(host),
            wire.observation_subject(host),
            wire.fenced_subject(host),
            wire.join_subject(host),
            wire.report_subject(host),
        ),
        subscribe=(
            inbox(f"collector-{host}"),
            wire.HEARTBEATS,
            wire.BEACON,
            wire.command_subject(host),
            wire.status_subject(host),
        ),
        responds=True,
    )


ARBITER = Role(
    user="arbiter",
    password_variable="HAPLAN_PW_ARBITER",
    does="arbiters: append decisions, hold the leader lease, revoke host leases, send orders",
    publish=(
        *READ_LOG,
        *KEEP_LOG,
        *APPEND_CHECK,
        EVENT_SUBJECTS,
        # The bucket (created by arbiters only, once the pool gives its max age), watched.
        *_reads(KV_STREAM),
        f"{JS}.STREAM.MSG.GET.{KV_STREAM}",
        f"{JS}.STREAM.CREATE.{KV_STREAM}",
        f"{JS}.CONSUMER.INFO.{KV_STREAM}.>",
        f"{KV_SUBJECTS}.{LEADER_KEY}",
        f"{KV_SUBJECTS}.host.*",
        wire.BEACON,
        COMMANDS,
    ),
    subscribe=(
        inbox("arbiter"),
        wire.HEARTBEATS,
        wire.OBSERVATIONS,
        wire.FENCED,
        wire.JOINS,
        wire.REPORTS,
        OPERATOR_REQUESTS,
    ),
    responds=True,
)

PLANNER = Role(
    user="planner",
    password_variable="HAPLAN_PW_PLANNER",
    does="planners: answer the planner service, append their plans on ha.evt.plan",
    publish=(*READ_LOG, *APPEND_CHECK, PLANS),
    subscribe=(inbox("planner"), PLANNER_REQUESTS, DISCOVERY),
    responds=True,
)

OPERATOR = Role(
    user="operator",
    password_variable="HAPLAN_PW_OPERATOR",
    does="operators: read the log, send operator, planner and host status requests",
    publish=(*READ_LOG, OPERATOR_REQUESTS, PLANNER_REQUESTS, DISCOVERY, STATUS_REQUESTS),
    subscribe=(inbox("operator"),),
)

ADMIN = Role(
    user="admin",
    password_variable="HAPLAN_PW_ADMIN",
    does="bootstrap: load the pool (haplan pool create) and create the event stream",
    publish=(*OPERATOR.publish, *KEEP_LOG, *APPEND_CHECK, POOL_EVENTS),
    subscribe=(inbox("admin"),),
)

SERVICE_ROLES = (ARBITER, PLANNER, OPERATOR, ADMIN)
_AS_IS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


def collector_password_variable(host: str) -> str:
    """The environment variable the server reads `host`'s collector password from: `lab1` ->
    `HAPLAN_PW_COLLECTOR_LAB1` (the names docker-compose.yml sets). One-to-one, so that no
    two hosts share a password: a lowercase ASCII letter or a digit is written upper-case,
    every other byte of the UTF-8 name as `_` and two hex digits (`Lab-1` -> `_4CAB_2D1`),
    which is all an environment variable's name may hold."""
    token = "".join(
        chr(b).upper() if chr(b) in _AS_IS else f"_{b:02X}" for b in host.encode("utf-8")
    )
    return f"HAPLAN_PW_COLLECTOR_{token}"


def roles(hosts: list[str]) -> list[Role]:
    """Every user of a pool with these hosts; ValueError when a host is listed twice (two
    collectors would share a user and a password variable)."""
    collectors = [collector(h) for h in hosts]
    variables = [r.password_variable for r in (*SERVICE_ROLES, *collectors)]
    if len(set(variables)) != len(variables) or len(set(hosts)) != len(hosts):
        raise ValueError(
            "two hosts map to one NATS user or password variable: "
            + ", ".join(sorted({v for v in variables if variables.count(v) > 1}))
        )
    return [*SERVICE_ROLES, *collectors]


__all__ = ["ADMIN", "ARBITER", "OPERATOR", "PLANNER", "Role", "collector", "encode_token", "roles"]
