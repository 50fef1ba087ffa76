"""Re-checking the arbiter's liveness decisions: the recorded evidence through the arbiter's
own rules with the pool's timers as replayed (`rules.recheck`), and the decision against the
replayed state (the host, its liveness, its incarnation, HA on)."""

from __future__ import annotations

from schemas.events import HostDeclaredDead, HostFenced, HostRejoined, HostSuspected
from schemas.liveness import DeadEvidence, FencedMark, SuspectEvidence
from services.arbiter.stillness import reading_problem
from services.arbiter.testimony import mark_problem
from services.audit.context import Context, incarnation_problem
from services.audit.findings import Notes
from services.audit.guard_checks import check_declared_while_guarded
from services.audit.rules import recheck
from services.common.timers import Timers
from services.state import HostState


def _host(ctx: Context, name: str, notes: Notes) -> HostState | None:
    host = ctx.state.hosts.get(name)
    if host is None:
        notes.differ(f"host {name} is not in the pool")
    return host


def _rule(ctx: Context, evidence: DeadEvidence | SuspectEvidence, notes: Notes) -> None:
    timeout = ctx.state.ha.timeout_s
    result = recheck(evidence, timeout, ctx.rules)
    if result.holds is None:
        notes.unsure(result.why)
    elif not result.holds:
        timers = Timers.from_timeout(timeout)
        if isinstance(evidence, DeadEvidence):
            what = (
                f"rule {evidence.rule!r} does not hold on the recorded evidence (lease silent "
                f"for {evidence.lease_silent_for_s:g} s, leader for {evidence.leader_for_s:g} s, "
                f"T_dead {evidence.t_dead_s:g} s) with the pool's timers (T {timeout:g} s, "
                f"T_dead {timers.t_dead_s:g} s)"
            )
        else:
            what = (
                f"suspicion rule does not hold: lease silent for "
                f"{evidence.lease_silent_for_s:g} s, the pool's T is {timeout:g} s"
            )
        notes.differ(f"the arbiter's {what}")


def _signed(ctx: Context, host: HostState, mark: FencedMark, notes: Notes) -> None:
    """A mark read in a slot holds only on the host's own signed record, checked against the
    key the replayed pool registers for it (docs/protocol.md, Signed slots); from event schema
    version 2 on. A mark recorded before signed slots has no record to check."""
    if mark.source == "slot" and mark.record is None and mark.before_signed_slots:
        notes.unsure("the mark was read in a slot before slots were signed: no record to check")
        return
    buried = ctx.buried.get(host.name, frozenset())
    problem = mark_problem(host.spec.key, host.name, mark, buried)
    if problem:
        notes.differ(problem)


def check_suspected(ctx: Context, e: HostSuspected, notes: Notes) -> None:
    host = _host(ctx, e.host, notes)
    if host is None:
        return
    # The arbiter judges every joined incarnation that is not dead, fenced ones included.
    if host.liveness not in ("live", "fenced") or host.suspected:
        notes.differ(
            f"host {e.host} is {ctx.host_state_text(host)}: only a live or fenced host is suspected"
        )
    problem = incarnation_problem(host, e.evidence.incarnation, "the evidence is about")
    if problem:
        notes.differ(problem)
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
    if e.evidence.rule == "fenced" and e.evidence.fenced_mark is not None:
        _signed(ctx, host, e.evidence.fenced_mark, notes)
    own = e.evidence.own_store
    if own is not None:
        # The leader's own reading rests on the host's signed slot (event schema version 3).
        problem = reading_problem(host.spec.key, host.name, own)
        if problem:
            notes.differ(problem)
    if e.evidence.rule == "power_off" and not host.spec.fencing:
        # Only the leader's order through the host's chain gets a BMC's answer.
        notes.differ(f"host {e.host} has no fencing chain: no BMC could have powered it off")
    check_declared_while_guarded(ctx, e, notes)
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
    _signed(ctx, host, e.mark, notes)
