"""The constraints that bound a restart order, as an explanation shows them: the target's
liveset membership and incarnation, its room and anti-affinity, the restart order, and why
the other liveset members were not chosen."""

from __future__ import annotations

from collections.abc import Sequence

from schemas.events import VMRestartOrdered
from services.audit.facts import Facts
from services.audit.fit import fit_on
from services.state import PoolState

SHOWN = 5


def _listed(items: Sequence[str]) -> str:
    head = ", ".join(items[:SHOWN])
    return head + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


def order_facts(
    state: PoolState,
    e: VMRestartOrdered,
    earlier: Sequence[tuple[str, int]],
    plan_seq: int | None = None,
) -> Facts:
    """Facts of the order `e`, decided on `state`; `earlier` are the (VM, order) ordered
    since the VM lost its host, before this one; `plan_seq` is where the plan the order
    cites is in the log, when it is a recorded plan."""
    vm = state.vms.get(e.vm)
    target = state.hosts.get(e.host)
    if vm is None or target is None:
        return (("target", f"{e.host}: not in the pool when ordered"),)
    member = "a liveset member" if target.in_liveset else "NOT a liveset member"
    current = (
        "its current incarnation"
        if target.incarnation == e.incarnation
        else f"NOT its current incarnation ({target.incarnation})"
    )
    fit = fit_on(state, e.vm, e.host)
    facts: list[tuple[str, str]] = [
        ("target", f"{e.host}, {member}; order for incarnation {e.incarnation}, {current}"),
        ("memory", fit.memory_text() + ("" if fit.fits_memory else " (does NOT fit)")),
        ("anti-affinity", fit.group_text()),
        (
            "restart order",
            f"priority {vm.spec.ha_restart_priority or 'none'}, order {vm.spec.order}, "
            f"start delay {vm.spec.start_delay_s:g} s",
        ),
    ]
    if earlier:
        facts.append(("ordered before it", _listed([f"{n!r} (order {o})" for n, o in earlier])))
    others = []
    for host in state.liveset:
        if host == e.host:
            continue
        problem = fit_on(state, e.vm, host).problem()
        others.append(f"{host}: {problem}" if problem else f"{host}: would fit too")
    facts.append(("other liveset members", _listed(others) if others else "none"))
    facts.append(("plan", f"{e.plan} (sequence {plan_seq})" if plan_seq else e.plan))
    return tuple(facts)
