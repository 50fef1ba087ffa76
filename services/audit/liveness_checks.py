"""Re-checking the arbiter's liveness decisions: the recorded evidence through the arbiter's
own rule (`rules.recheck`), and the decision against the replayed state (the host, its
incarnation, the pool's timers)."""

from __future__ import annotations

import math

from schemas.events import HostDeclaredDead, HostFenced, HostRejoined, HostSuspected
from services.audit.context import Context, incarnation_problem
from services.audit.findings import Notes
from services.audit.rules import Evidence, recheck
from services.common.timers import Timers
from services.state import HostState


def _host(ctx: Context, name: str, notes: Notes) -> HostState | None:
    host = ctx.state.hosts.get(name)
    if host is None:
        notes.differ(f"host {name} is not in the pool")
    return host


def _rule(ctx: Context, evidence: Evidence, notes: Notes) -> None:
    timeout = ctx.state.ha.timeout_s
    if ctx.rule is None:
        notes.unsure(recheck(evidence, timeout, rule=None).why)
        return
    if not recheck(evidence, timeout, rule=ctx.rule).holds:
        notes.differ(
            f"the arbiter's rule does not hold on the recorded evidence with the pool's "
            f"timers (ha.timeout_s {timeout:g} s)"
        )


def check_suspected(ctx: Context, e: HostSuspected, notes: Notes) -> None:
    host = _host(ctx, e.host, notes)
    if host is None:
        return
    if host.liveness != "live" or host.suspected:
        notes.differ(f"host {e.host} is {ctx.host_state_text(host)}: only a live host is suspected")
    problem = incarnation_problem(host, e.evidence.incarnation, "the evidence is about")
    if problem:
        notes.differ(problem)
    if not math.isclose(e.evidence.timeout_s, ctx.state.ha.timeout_s, rel_tol=1e-9):
        notes.differ(
            f"the evidence uses T = {e.evidence.timeout_s:g} s, the pool's ha.timeout_s is "
            f"{ctx.state.ha.timeout_s:g} s"
        )
    _rule(ctx, e.evidence, notes)


def check_declared_dead(ctx: Context, e: HostDeclaredDead, notes: Notes) -> None:
    host = _host(ctx, e.host, notes)
    if host is None:
        return
    if not ctx.state.ha.enabled:
        notes.differ("HA is disabled: no host is declared dead until it is enabled again")
    if host.liveness in ("dead", "excluded"):
        why = "already dead" if host.liveness == "dead" else "excluded: its silence is no failure"
        notes.differ(f"host {e.host} is {why}")
    problem = incarnation_problem(host, e.evidence.incarnation, "the evidence is about")
    if problem:
        notes.differ(problem)
    t_dead = Timers.from_timeout(ctx.state.ha.timeout_s).t_dead_s
    if not math.isclose(e.evidence.t_dead_s, t_dead, rel_tol=1e-9):
        notes.differ(
            f"the evidence uses T_dead = {e.evidence.t_dead_s:g} s, the pool's timers give "
            f"{t_dead:g} s"
        )
    _rule(ctx, e.evidence, notes)


def check_rejoined(ctx: Context, e: HostRejoined, notes: Notes) -> None:
    host = _host(ctx, e.host, notes)
    if host is None:
        return
    if host.liveness != "live" or not host.suspected:
        notes.differ(f"host {e.host} is {ctx.host_state_text(host)}: only a suspected host rejoins")
    problem = incarnation_problem(host, e.incarnation, "it names")
    if problem:
        notes.differ(problem)


def check_fenced(ctx: Context, e: HostFenced, notes: Notes) -> None:
    host = _host(ctx, e.host, notes)
    if host is None:
        return
    if host.liveness == "dead":
        notes.differ(f"host {e.host} is already dead")
    problem = incarnation_problem(host, e.mark.incarnation, "the fenced mark is from")
    if problem:
        notes.differ(problem + " (marks of other incarnations are ignored)")
