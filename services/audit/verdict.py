"""The one sentence that answers "why is this VM where it is now"."""

from __future__ import annotations

from collections.abc import Sequence

from services.audit.facts import Step
from services.state import VMState


def _first(chain: Sequence[Step], role: str) -> Step | None:
    return next((s for s in chain if s.role == role), None)


def _last(chain: Sequence[Step], role: str) -> Step | None:
    return next((s for s in reversed(chain) if s.role == role), None)


def _cause(chain: Sequence[Step]) -> str:
    dead = _first(chain, "declared dead")
    if dead is not None:
        return f"after {dead.host} was declared dead at sequence {dead.seq}"
    stopped = _first(chain, "stopped")
    if stopped is not None:
        return f"after it stopped at sequence {stopped.seq} ({stopped.summary})"
    return "after it was created halted"


def verdict(vm: VMState, created: Step | None, chain: Sequence[Step]) -> str:
    born = f"sequence {created.seq}" if created else "its creation"
    if vm.power_state == "running":
        started = _last(chain, "started")
        if started is None:
            return f"It runs on {vm.host} since it was created ({born}); it never moved."
        return f"It runs on {vm.host} since sequence {started.seq}: restarted {_cause(chain)}."
    if vm.power_state == "restarting":
        ordered = _last(chain, "ordered")
        if vm.order is not None and ordered is not None:
            return (
                f"It is being restarted: ordered to {vm.order.host} at sequence "
                f"{ordered.seq} {_cause(chain)}, not started yet."
            )
        return f"It waits for a restart {_cause(chain)}."
    if vm.power_state == "unplaceable":
        last = _last(chain, "unplaceable")
        where = f" since sequence {last.seq}" if last else ""
        return f"It is unplaceable{where}: no liveset member can take it, {_cause(chain)}."
    if vm.power_state == "failed":
        return (
            "It failed: HA gave up on it after its restart and relocation limits "
            f"{_cause(chain)}; `haplan vm start` tries again."
        )
    if vm.halted_by == "admin":
        return "It is halted: an admin shut it down, and HA does not restart it."
    if vm.halted_by == "guest":
        return "It is halted: its guest shut it down."
    if not chain:
        return f"It is halted, as it was created ({born})."
    why = "" if vm.spec.ha_restart_priority else " (it is not protected)"
    return f"It is halted {_cause(chain)}; HA does not restart it{why}."
