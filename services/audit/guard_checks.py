"""Re-checking the guard against mass suspicion (docs/protocol.md): its engagements and
releases through the arbiter's own rule (services.arbiter.guard) on the recorded evidence,
against the replayed state; and no declaration on silence while it holds."""

from __future__ import annotations

from schemas.events import GuardEngaged, GuardReleased, HostDeclaredDead
from services.arbiter.guard import engage_holds, release_holds
from services.audit.context import Context
from services.audit.findings import Notes
from services.state import PoolState


def _members(state: PoolState) -> list[str]:
    """The hosts the guard weighs: joined, neither dead nor in maintenance."""
    return [n for n, h in state.hosts.items() if h.liveness in ("live", "fenced")]


def _suspects(state: PoolState) -> set[str]:
    """The live hosts the log suspects: the arbiter's suspects include these."""
    return {n for n in _members(state) if state.hosts[n].suspected}


def _may_be_suspects(state: PoolState) -> set[str]:
    """The hosts the arbiter may count as suspects: its view keeps a fenced host suspected,
    which the log's state cannot tell (a fenced host is not `suspected` there), so a fenced
    host not yet dead may be one."""
    fenced = {n for n in _members(state) if state.hosts[n].liveness == "fenced"}
    return _suspects(state) | fenced


def _common(ctx: Context, members: int, share: float, notes: Notes) -> None:
    state = ctx.state
    if share != state.ha.mass_suspicion_share:
        notes.differ(
            f"it weighs a share of {share:g}, the pool's ha.mass_suspicion_share is "
            f"{state.ha.mass_suspicion_share:g}"
        )
    if members != len(_members(state)):
        notes.differ(
            f"it counts {members} members, the log has {len(_members(state))} joined hosts "
            "neither dead nor in maintenance"
        )


def check_guard_engaged(ctx: Context, e: GuardEngaged, notes: Notes) -> None:
    state, ev = ctx.state, e.evidence
    if not state.ha.enabled:
        notes.differ("HA is disabled: the arbiter judges no host")
    if state.guard is not None:
        notes.differ("the guard is already engaged")
    timeout = state.ha.timeout_s
    if not engage_holds(ev, timeout):
        notes.differ(
            f"the guard's rule does not hold: {len(ev.recent)} distinct hosts suspected within "
            f"T ({timeout:g} s) must be more than {ev.share:g} of {ev.members} members"
        )
    unsuspected = sorted({r.host for r in ev.recent} - _may_be_suspects(state))
    if unsuspected:
        notes.differ(f"{', '.join(unsuspected)} not suspected in the log")
    _common(ctx, ev.members, ev.share, notes)


def check_guard_released(ctx: Context, e: GuardReleased, notes: Notes) -> None:
    state, ev = ctx.state, e.evidence
    if state.guard is None:
        notes.differ("the guard is not engaged")
    if not release_holds(ev):
        notes.differ(
            f"the guard's rule still holds: {len(ev.suspects)} suspects are more than "
            f"{ev.share:g} of {ev.members} members"
        )
    named = set(ev.suspects)
    if not _suspects(state) <= named <= _may_be_suspects(state):
        shown = ", ".join(sorted(_suspects(state))) or "none"
        notes.differ(f"it names suspects {list(ev.suspects)}, the log's are {shown}")
    _common(ctx, ev.members, ev.share, notes)


def check_declared_while_guarded(ctx: Context, e: HostDeclaredDead, notes: Notes) -> None:
    """While the guard holds, no host is declared dead on silence (rule "timeout"): only on
    its own word (rule "fenced") or its BMC's confirmed power-off (rule "power_off", an answer
    to an order given before the guard engaged)."""
    guard = ctx.state.guard
    if guard is not None and e.evidence.rule == "timeout":
        notes.differ(
            f"the guard against mass suspicion holds (engaged at {guard.since.isoformat()}): "
            f"no host is declared dead on rule {e.evidence.rule!r}, only on its own word or "
            "its BMC's confirmed power-off"
        )
