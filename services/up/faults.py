"""The cables `haplan fault` pulls, and what a request to pull or heal one means (pure).

The `up` process keeps, per host, the set of cables pulled; these functions say how a request
changes it. Carrying the change out (a kill, a symlink swap, a cut proxy) is the host
machine's job (services.up.machine).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal, get_args

FaultKind = Literal["power", "storage", "network", "hang"]
FAULT_KINDS: tuple[FaultKind, ...] = get_args(FaultKind)
HEAL = "heal"

# What each pull does to the host, as the operator reads it.
MEANING: dict[FaultKind, str] = {
    "power": "powered off: collector, watchdog and VMs killed, kept off",
    "storage": "storage cable pulled: every read and write of its store fails",
    "network": "network cable pulled: its link to NATS is cut",
    "hang": "collector frozen (SIGSTOP): its watchdog must kill the VMs",
}

# What healing each undoes.
HEALED: dict[FaultKind, str] = {
    "power": "powered on",
    "storage": "storage cable plugged back",
    "network": "network cable plugged back",
    "hang": "collector resumed (SIGCONT)",
}

ErrorCode = Literal["invalid", "conflict"]


class FaultRequestError(ValueError):
    """A request that cannot be carried out; `code` says whether it was wrong ("invalid",
    exit 2) or does not fit the host's state ("conflict", exit 1); `hint` what to do."""

    def __init__(self, message: str, hint: str, code: ErrorCode = "invalid") -> None:
        super().__init__(message)
        self.hint, self.code = hint, code


@dataclass(frozen=True, slots=True)
class Pull:
    kind: FaultKind
    host: str


@dataclass(frozen=True, slots=True)
class Heal:
    host: str


def parse_kind(word: str) -> FaultKind | Literal["heal"]:
    """A fault kind as the operator types it (`power`, `Storage `, `heal`)."""
    kind = word.strip().lower()
    if kind == HEAL:
        return "heal"
    for known in FAULT_KINDS:
        if kind == known:
            return known
    raise FaultRequestError(
        f"unknown fault {word!r}",
        f"use one of: {', '.join((*FAULT_KINDS, HEAL))}",
    )


def parse_request(raw: object, hosts: Collection[str]) -> Pull | Heal:
    """A control request `{"fault": KIND|"heal", "host": NAME}` for one of `hosts`."""
    if not isinstance(raw, dict):
        raise FaultRequestError(
            "the request is not a JSON object", 'send {"fault": ..., "host": ...}'
        )
    fault, host = raw.get("fault"), raw.get("host")
    if not isinstance(fault, str):
        raise FaultRequestError(
            "the request names no fault", f"use one of: {', '.join((*FAULT_KINDS, HEAL))}"
        )
    kind = parse_kind(fault)
    if not isinstance(host, str) or host not in hosts:
        raise FaultRequestError(
            f"unknown host {host!r}" if isinstance(host, str) else "the request names no host",
            f"the pool's hosts are: {', '.join(hosts)}",
        )
    return Heal(host) if kind == "heal" else Pull(kind, host)


def pulled_after(pulled: frozenset[FaultKind], request: Pull | Heal) -> frozenset[FaultKind]:
    """The cables pulled on the host once `request` is carried out.

    Powering a host off ends a hang (nothing runs to be frozen); a hang cannot be pulled on a
    host that is off. Heal plugs everything back.
    """
    if isinstance(request, Heal):
        return frozenset()
    if request.kind == "hang" and "power" in pulled:
        raise FaultRequestError(
            f"{request.host} is powered off: nothing runs there to hang",
            f"heal it first: haplan fault heal {request.host}",
            code="conflict",
        )
    if request.kind == "power":
        return (pulled - {"hang"}) | {"power"}
    return pulled | {request.kind}
