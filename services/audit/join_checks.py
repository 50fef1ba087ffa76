"""Re-checking `host_joined` (docs/protocol.md, Signed slots): a join of a host with a
registered key rests on the incarnation's own signed slot its join request carried, checked
against the key the replayed pool registers; and a new incarnation joins only once the one the
log knows is declared dead (the arbiter's rule: its join meanwhile only marks the old one
fenced)."""

from __future__ import annotations

from schemas.events import HostJoined
from services.arbiter.testimony import join_problem
from services.audit.context import Context
from services.audit.findings import Notes


def check_joined(ctx: Context, e: HostJoined, notes: Notes) -> None:
    host = ctx.state.hosts.get(e.host)
    if host is None:
        notes.differ(f"host {e.host} is not in the pool")
        return
    if e.incarnation in ctx.buried.get(e.host, frozenset()):
        notes.differ(f"incarnation {e.incarnation} was declared dead: it never joins again")
    if e.record is None and host.liveness == "excluded" and host.incarnation == e.incarnation:
        return  # leaving maintenance: the incarnation's own join was checked when it joined
    if host.incarnation not in (None, e.incarnation) and host.liveness in ("live", "fenced"):
        notes.differ(
            f"incarnation {e.incarnation} joined while {host.incarnation} was not declared "
            "dead (a later incarnation's join only marks the earlier one fenced)"
        )
    if e.record is None and e.before_signed_slots:
        if host.spec.key is not None:
            notes.unsure(
                "the join was recorded before joins carried a signed record: nothing to check"
            )
        return
    problem = join_problem(host.spec.key, e.host, e.incarnation, e.record)
    if problem:
        notes.differ(problem)
