"""Hypothetical pools for what-if queries (XenServer's
`pool-ha-compute-hypothetical-max-host-failures-to-tolerate`).

A change is applied to an immutable pool and yields a new, fully validated pool: every pool rule
(spec/pool-format.md) still holds on the result, so the planner never reasons about a pool that
could not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from schemas import VM, Host, Pool, Priority
from schemas.pool import check_bounds
from services.planner.errors import unknown_host, unknown_vm


@dataclass(frozen=True, slots=True)
class PoolChange:
    """A what-if change to a pool; applied in the order of the fields."""

    add_hosts: tuple[Host, ...] = ()
    remove_hosts: tuple[str, ...] = ()
    add_vms: tuple[VM, ...] = ()
    remove_vms: tuple[str, ...] = ()
    set_priority: tuple[tuple[str, Priority], ...] = ()
    set_ntol: int | None = None


def apply_change(pool: Pool, change: PoolChange) -> Pool:
    """The pool as it would be after `change`; raises KeyError/ValueError for unknown names or
    an impossible result (the CLI turns these into one-line errors).

    Semantics, in field order:
    - `add_hosts`: new hosts join the pool (a name already in the pool is an error).
    - `remove_hosts`: the hosts leave the pool; the VMs that ran on them are kept but become
      halted (host unset), as if the host had been shut down without migrating them. Remove the
      VMs too (`remove_vms`) to model them leaving with the host.
    - `add_vms`, `remove_vms`: VMs join (running where their `host` says) or leave the pool.
    - `set_priority`: a VM's `ha_restart_priority` changes.
    - `set_ntol`: the configured host_failures_to_tolerate changes.

    Unknown host or VM names raise `UnknownNameError` (a KeyError); a result that breaks a pool
    rule (duplicate name, a host over capacity, ntol out of range, a protected non-agile VM...)
    raises ValueError with the rule's one-line message.
    """
    hosts = list(pool.hosts)
    vms = list(pool.vms)
    hosts.extend(change.add_hosts)
    known_hosts = tuple(h.name for h in hosts)
    for name in change.remove_hosts:
        if name not in known_hosts:
            raise unknown_host(name, known_hosts)
    gone = set(change.remove_hosts)
    hosts = [h for h in hosts if h.name not in gone]
    vms = [v.model_copy(update={"host": None}) if v.host in gone else v for v in vms]
    vms.extend(change.add_vms)
    known_vms = {v.name for v in vms}
    for name in change.remove_vms:
        if name not in known_vms:
            raise unknown_vm(name)
    leaving = set(change.remove_vms)
    vms = [v for v in vms if v.name not in leaving]
    priorities = dict(change.set_priority)
    known_vms = {v.name for v in vms}
    for name in priorities:
        if name not in known_vms:
            raise unknown_vm(name)
    ha = pool.ha
    if change.set_ntol is not None:
        ha = ha.model_copy(update={"host_failures_to_tolerate": change.set_ntol})
    data: dict[str, Any] = {
        "name": pool.name,
        "ha": ha.model_dump(),
        "hosts": [h.model_dump() for h in hosts],
        "vms": [
            {**v.model_dump(), "ha_restart_priority": priorities.get(v.name, v.ha_restart_priority)}
            for v in vms
        ],
    }
    try:
        pool = Pool.model_validate(data)
    except ValidationError as exc:
        raise ValueError(_one_line(exc, data)) from None
    check_bounds(pool)  # its added hosts and VMs are input: bounded like a pool file's
    return pool


def _one_line(exc: ValidationError, data: dict[str, Any]) -> str:
    """The first validation error, naming the host or VM it is about (`vms 'web 1'.order`)."""
    err = exc.errors(include_url=False)[0]
    msg = str(err["msg"]).removeprefix("Value error, ")
    loc = list(err["loc"])
    parts: list[str] = []
    if len(loc) >= 2 and loc[0] in ("hosts", "vms") and isinstance(loc[1], int):
        kind = "host" if loc[0] == "hosts" else "VM"
        parts.append(f"{kind} {data[str(loc[0])][loc[1]]['name']!r}")
        loc = loc[2:]
    parts.extend(str(step) for step in loc)
    where = ".".join(parts)
    return f"after the change, {where + ': ' if where else ''}{msg}"


def describe_change(change: PoolChange) -> list[str]:
    """The change in words, one line per step, in the order the planner applies them."""

    def priority(p: str) -> str:
        return p or "unprotected"

    lines = [
        f"add host {h.name!r} ({h.memory_mib} MiB, {h.reserved_mib} reserved)"
        for h in change.add_hosts
    ]
    lines += [f"remove host {n!r} (its VMs become halted)" for n in change.remove_hosts]
    lines += [
        f"add VM {v.name!r} ({v.memory_mib} MiB, {priority(v.ha_restart_priority)}, "
        + (f"running on {v.host!r})" if v.host else "halted)")
        for v in change.add_vms
    ]
    lines += [f"remove VM {n!r}" for n in change.remove_vms]
    lines += [f"set the priority of VM {n!r} to {priority(p)}" for n, p in change.set_priority]
    if change.set_ntol is not None:
        lines.append(f"set host_failures_to_tolerate to {change.set_ntol}")
    return lines
