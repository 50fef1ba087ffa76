"""Waiting for the lab to show an outcome, through the operator's own commands and the VM
disks: every wait ends as soon as the outcome shows, and a wait that runs out fails with
what was awaited and the end of every log of the run."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

X = TypeVar("X")
HostStates = dict[str, str]
VMStates = dict[str, tuple[str | None, str]]


class Waiter:
    """What the lab's tests wait for; the lab provides status, events, writers, describe."""

    hosts: tuple[str, ...]

    def status(self) -> dict[str, Any] | None: ...
    def events(self, type_: str | None = None, **match: Any) -> list[dict[str, Any]]: ...
    def writers(self, vm: str = ...) -> dict[str, tuple[str, int, int]]: ...
    def describe(self) -> str: ...

    def eventually(self, probe: Callable[[], X | None], timeout_s: float, what: str) -> X:
        deadline = time.monotonic() + timeout_s
        while True:
            result = probe()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"not within {timeout_s:g} s: {what}\nstatus: {self.status()}\n"
                    f"{self.describe()}"
                )
            time.sleep(0.2)

    def state(self) -> tuple[HostStates, VMStates] | None:
        """(host -> state, VM -> (host, power state)) as `haplan status --json` says, once
        an arbiter leads."""
        s = self.status()
        if s is None or s.get("leader") is None:
            return None
        hosts = {h["name"]: h["state"] for h in s["hosts"]}
        vms = {v["name"]: (v["host"], v["power_state"]) for v in s["vms"]}
        return hosts, vms

    def wait_state(self, hosts: HostStates, vms: VMStates, timeout_s: float, what: str) -> None:
        def matches() -> bool:
            now = self.state()
            return now is not None and now == (hosts, vms)

        self.eventually(matches, timeout_s, f"{what}: {hosts} {vms}")

    def wait_writing(self, vm: str, host: str, timeout_s: float, since_ns: int = 0) -> str:
        """The instance of `vm` that writes its disk from `host` (after `since_ns`)."""

        def writing() -> str | None:
            for instance, (on, _first, last) in self.writers(vm).items():
                if on == host and last > since_ns:
                    return instance
            return None

        return self.eventually(writing, timeout_s, f"{vm} writing its disk from {host}")

    def first_event(self, type_: str, timeout_s: float, **match: Any) -> dict[str, Any]:
        return self.eventually(
            lambda: next(iter(self.events(type_, **match)), None),
            timeout_s,
            f"a {type_} event {match}",
        )

    def wait_live(self, vm: str = "Minion 1", timeout_s: float = 60.0) -> None:
        """The article's start: every host live, the VM started on the first host by its
        collector (the log's vm_started) and writing its disk from there."""
        first = self.hosts[0]

        def live() -> bool:
            now = self.state()
            return (
                now is not None
                and now[0] == dict.fromkeys(self.hosts, "live")
                and (now[1].get(vm) == (first, "running"))
            )

        self.eventually(live, timeout_s, f"every host live, {vm} running on {first}")
        self.first_event("vm_started", timeout_s, vm=vm, host=first)
        self.wait_writing(vm, first, timeout_s)
