"""`explain VM`: why the VM is where it is now, as the chain of events that put it there.

Replaying the log, the explainer keeps the VM's creation and protection, each host's
liveness story since it last joined, and the plan in effect. When the VM loses its host the
chain restarts from the cause (the failure with its evidence and the decision, or a halt);
then come the plan in effect, each order with the constraints that bound it, and the start.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from schemas.events import (
    EventBase,
    HostDeclaredDead,
    HostEvent,
    HostFenced,
    HostJoined,
    HostRejoined,
    HostSuspected,
    PlanComputed,
    VMEvacuated,
    VMEvent,
    VMFailed,
    VMHaltedByGuest,
    VMLost,
    VMProtectionSet,
    VMRestartOrdered,
    VMShutDownByAdmin,
    VMStarted,
    VMStartFailed,
    VMUnplaceable,
)
from services.audit.entries import Logged
from services.audit.facts import Facts, Step, dead_facts, mark_text, plan_facts, step, suspect_facts
from services.audit.placement import order_facts
from services.audit.verdict import verdict
from services.state import HANDLERS, PoolState, VMState

LIVENESS = (HostSuspected, HostRejoined, HostFenced, HostDeclaredDead)
ROLES: dict[type[EventBase], str] = {
    VMRestartOrdered: "ordered",
    VMStarted: "started",
    VMStartFailed: "start failed",
    VMUnplaceable: "unplaceable",
    VMHaltedByGuest: "halted by its guest",
    VMLost: "stopped without an admin shutdown",
    VMFailed: "failed: HA gave up on it",
    VMShutDownByAdmin: "shut down by an admin",
    VMEvacuated: "stopped to move it (host evacuate or vm migrate)",
}


class Explanation(NamedTuple):
    vm: str
    host: str | None
    power_state: str
    halted_by: str | None
    protection: tuple[tuple[str, str], ...]
    created: Step | None
    configuration: tuple[Step, ...]
    chain: tuple[Step, ...]
    earlier_losses: int
    verdict: str
    last_seq: int

    def to_json(self) -> dict[str, Any]:
        return {
            "vm": self.vm,
            "host": self.host,
            "power_state": self.power_state,
            "halted_by": self.halted_by,
            "verdict": self.verdict,
            "protection": dict(self.protection),
            "created": self.created.to_json() if self.created else None,
            "configuration": [s.to_json() for s in self.configuration],
            "chain": [s.to_json() for s in self.chain],
            "earlier_losses": self.earlier_losses,
            "last_seq": self.last_seq,
        }


def _liveness_step(seq: int, event: HostEvent) -> Step:
    h = event.host
    if isinstance(event, HostDeclaredDead):
        return step(seq, event, "declared dead", dead_facts(event.evidence), host=h)
    if isinstance(event, HostSuspected):
        return step(seq, event, "suspected", suspect_facts(event.evidence), host=h)
    if isinstance(event, HostFenced):
        return step(seq, event, "fenced", (("mark", mark_text(event.mark)),), host=h)
    return step(seq, event, "rejoined", host=h)


class Explainer:
    """Feed it the log in order, then ask `explanation()`."""

    def __init__(self, vm: str) -> None:
        self.vm = vm
        self.state = PoolState()
        self._created: Step | None = None
        self._config: list[Step] = []
        self._chain: list[Step] = []
        self._losses = 0
        self._stories: dict[str, list[Step]] = {}  # host -> liveness steps since it joined
        self._plan: Step | None = None
        self._plan_seqs: dict[str, int] = {}
        self._orders_since_loss: list[tuple[str, int]] = []  # (VM, order) in order given
        self._last_seq = 0

    def feed(self, entry: Logged) -> None:
        seq, event = entry.seq, entry.event
        before = self.state
        self.state = HANDLERS[type(event)](before, event)
        self._last_seq = seq
        if isinstance(event, HostJoined):
            self._stories[event.host] = []
        elif isinstance(event, LIVENESS):
            self._stories.setdefault(event.host, []).append(_liveness_step(seq, event))
        elif isinstance(event, PlanComputed):
            self._plan = step(seq, event, "plan in effect", plan_facts(event))
            self._plan_seqs[event.event_id] = seq
        elif isinstance(event, VMRestartOrdered):
            vm = before.vms.get(event.vm)
            self._orders_since_loss.append((event.vm, vm.spec.order if vm else 0))
        self._follow(seq, event, before.vms.get(self.vm), self.state.vms.get(self.vm), before)

    def _follow(
        self, seq: int, event: EventBase, was: VMState | None, now: VMState | None,
        before: PoolState,
    ) -> None:  # fmt: skip
        if now is None:
            return
        if was is None:
            self._created = step(seq, event, "created")
        elif isinstance(event, VMProtectionSet) and event.vm == self.vm:
            self._config.append(step(seq, event, "protection"))
        elif was.host is not None and now.host is None:
            self._lost(seq, event, was.host, restarting=now.power_state == "restarting")
        elif isinstance(event, VMEvent) and event.vm == self.vm:
            facts: Facts = ()
            if isinstance(event, VMRestartOrdered):
                self._with_plan()
                facts = order_facts(
                    before, event, self._orders_since_loss[:-1], self._plan_seqs.get(event.plan)
                )
            self._chain.append(step(seq, event, ROLES.get(type(event), "event"), facts))
        elif was.order is not None and now.order is None:
            self._chain.append(step(seq, event, f"order to {was.order.host} void"))

    def _lost(self, seq: int, event: EventBase, host: str, *, restarting: bool) -> None:
        self._losses += 1
        self._orders_since_loss = []
        if isinstance(event, HostDeclaredDead):
            self._chain = list(self._stories.get(host, []))
        else:
            self._chain = [step(seq, event, "stopped")]
        if restarting:
            self._with_plan()

    def _with_plan(self) -> None:
        # The plan in effect matters once HA restarts the VM: at the failure, or at the
        # first order after a stop HA does not act on by itself.
        plan = self._plan
        if plan is not None and not any(s.role == "plan in effect" for s in self._chain):
            self._chain.append(plan)

    def explanation(self) -> Explanation | None:
        """None when the log never named the VM."""
        vm = self.state.vms.get(self.vm)
        if vm is None:
            return None
        spec = vm.spec
        protection = (
            ("ha_restart_priority", spec.ha_restart_priority or "none (unprotected)"),
            ("order", str(spec.order)),
            ("start delay", f"{spec.start_delay_s:g} s"),
            ("memory", f"{spec.footprint} MiB ({spec.memory_mib} + {spec.memory_overhead_mib} "
                       "overhead)"),
            ("agile", "yes" if spec.agile else "no: its disks are local"),
            ("anti-affinity", spec.anti_affinity or "none"),
        )  # fmt: skip
        return Explanation(
            vm=self.vm,
            host=vm.host,
            power_state=vm.power_state,
            halted_by=vm.halted_by,
            protection=protection,
            created=self._created,
            configuration=tuple(self._config),
            chain=tuple(self._chain),
            earlier_losses=max(self._losses - 1, 0),
            verdict=verdict(vm, self._created, tuple(self._chain)),
            last_seq=self._last_seq,
        )

    def known_vms(self) -> tuple[str, ...]:
        return tuple(self.state.vms)


def explain(entries: Iterable[Logged], vm: str) -> Explanation | None:
    """Explain `vm` from a whole log (None when the log never named it)."""
    explainer = Explainer(vm)
    for entry in entries:
        explainer.feed(entry)
    return explainer.explanation()
