"""Events as steps of an explanation: what happened, and the facts behind it, as text pairs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from schemas.events import EventBase, PlanComputed
from schemas.liveness import DeadEvidence, FencedMark, OwnStoreReading, SuspectEvidence

Facts = tuple[tuple[str, str], ...]


class Step(NamedTuple):
    """One event in a VM's story: `role` says what it was for the VM."""

    seq: int
    at: datetime
    type: str
    role: str
    summary: str
    facts: Facts = ()
    host: str | None = None  # the host a liveness step is about

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at.isoformat().replace("+00:00", "Z"),
            "type": self.type,
            "role": self.role,
            "summary": self.summary,
            "facts": dict(self.facts),
        }


def step(seq: int, event: EventBase, role: str, facts: Facts = (), host: str | None = None) -> Step:
    return Step(seq, event.at, event.type, role, event.summary(), facts, host)


def mark_text(mark: FencedMark) -> str:
    where = f"slot, read by {mark.observer}" if mark.source == "slot" else "bus"
    return f"on the {where}, incarnation {mark.incarnation}"


def own_text(own: OwnStoreReading) -> str:
    if own.slot is None:
        if own.unreachable_for_s is None:
            return "no read of the store lately"
        return f"the store unreachable for {own.unreachable_for_s:g} s"
    s = own.slot
    if s.seq is None:
        return f"never read a slot of {s.incarnation}"
    return f"slot seq {s.seq} of {s.incarnation} not advanced for {s.still_for_s:g} s"


def dead_facts(ev: DeadEvidence) -> Facts:
    facts: list[tuple[str, str]] = [
        ("rule", ev.rule),
        ("incarnation", ev.incarnation),
        ("lease silent for", f"{ev.lease_silent_for_s:g} s (T_dead {ev.t_dead_s:g} s)"),
        ("arbiter leader for", f"{ev.leader_for_s:g} s"),
    ]
    if ev.fenced_mark is not None:
        facts.append(("fenced mark", mark_text(ev.fenced_mark)))
        renewed = "yes" if ev.lease_renewed_since_mark else "no"
        facts.append(("lease renewed since the mark", renewed))
    if ev.slot_stale is not None:
        s = ev.slot_stale
        facts.append(
            ("slot", f"{s.observer} saw slot seq {s.slot_seq} not advance for {s.stale_for_s:g} s")
        )
    if ev.power_off is not None:
        p = ev.power_off
        facts.append(
            (
                "BMC power-off",
                f"{p.agent} (level {p.level}) answered {p.answer!r}; status read "
                f"{p.power_state!r} {p.answered_after_s:g} s after the order",
            )
        )
    if ev.own_store is not None:
        facts.append(("leader's own reading", own_text(ev.own_store)))
    elif ev.rule == "timeout":
        facts.append(("leader's own reading", "none: no store of its own (a collector's word)"))
    if ev.store_outage is not None:
        o = ev.store_outage
        facts.append(
            (
                "store outage",
                f"{', '.join(o.reporters)} could not reach the store for {o.unreachable_for_s:g} s",
            )
        )
    return tuple(facts)


def suspect_facts(ev: SuspectEvidence) -> Facts:
    return (
        ("incarnation", ev.incarnation),
        ("lease silent for", f"{ev.lease_silent_for_s:g} s (T {ev.timeout_s:g} s)"),
    )


def plan_facts(plan: PlanComputed) -> Facts:
    worst = ", ".join(plan.worst_failure_set) if plan.worst_failure_set else "none"
    return (
        ("tolerates", f"{plan.max_host_failures_to_tolerate} host failure(s)"
         + ("" if plan.exact else f", at most {plan.upper_bound} (not exact)")),
        ("configured", str(plan.host_failures_to_tolerate)),
        ("worst failure set", worst),
        ("computed on the log as of", f"sequence {plan.based_on_seq}"),
    )  # fmt: skip
