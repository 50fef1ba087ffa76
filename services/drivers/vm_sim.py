"""The `sim` VM driver: VMs are entries in memory (planner demos, simulations, compose)."""

from __future__ import annotations

from collections.abc import Mapping

from services.drivers.base import VMExit


class SimVMDriver:
    def __init__(self) -> None:
        self._running: dict[str, str] = {}
        self._exits: list[VMExit] = []

    def start(self, vm: str, instance: str) -> None:
        if vm in self._running:
            raise RuntimeError(f"VM {vm!r} already runs here as instance {self._running[vm]}")
        self._running[vm] = instance

    def shutdown(self, vm: str) -> None:
        instance = self._running.pop(vm, None)
        if instance is not None:
            self._exits.append(VMExit(vm, instance, "admin-shutdown"))

    def guest_halt(self, vm: str) -> None:
        instance = self._running.pop(vm, None)
        if instance is not None:
            self._exits.append(VMExit(vm, instance, "guest-halt"))

    def kill_all(self) -> None:
        for vm, instance in self._running.items():
            self._exits.append(VMExit(vm, instance, "killed"))
        self._running.clear()

    def running(self) -> Mapping[str, str]:
        return dict(self._running)

    def reap(self) -> list[VMExit]:
        exits, self._exits = self._exits, []
        return exits
