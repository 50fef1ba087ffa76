"""The outcomes the real-fault tests wait for, and the bounds of those waits."""

from __future__ import annotations

from datetime import datetime

from tests.e2e.lab import VM, Lab

T = 3.0  # the pool's HA timeout: interval 0.3 s
T_DEAD = T + 4 * 0.3  # services.common.timers for T = 3
FAILOVER_S = 40.0  # bounds for a loaded 2-core machine: each wait ends at the outcome
REJOIN_S = 60.0


def at(event: dict[str, object]) -> float:
    """An event's `at` as a unix time."""
    return datetime.fromisoformat(str(event["at"]).replace("Z", "+00:00")).timestamp()


def restarted_elsewhere(
    lab: Lab, lab1_state: str, since_ns: int, vm: str = VM, within_s: float = FAILOVER_S
) -> str:
    """`vm` runs on a host other than lab1, every other host live and lab1 in
    `lab1_state`, per `haplan status` and per the VM's own disk, within `within_s` (a pool
    with a longer T than `T` needs more); that host."""

    def moved() -> str | None:
        now = lab.state()
        if now is None:
            return None
        hosts, vms = now
        on, power = vms[vm]
        others_live = all(state == "live" for h, state in hosts.items() if h != "lab1")
        ok = hosts["lab1"] == lab1_state and others_live and power == "running"
        return on if ok and on != "lab1" else None

    host = lab.eventually(moved, within_s, f"{vm} restarted on a survivor")
    lab.wait_writing(vm, host, within_s, since_ns=since_ns)
    return host


def rejoined(lab: Lab, vms: dict[str, str]) -> None:
    """Every host back in the liveset, each VM of `vms` running where it says."""
    lab.wait_state(
        dict.fromkeys(lab.hosts, "live"), {vm: (h, "running") for vm, h in vms.items()},
        REJOIN_S, "every host back in the liveset",
    )  # fmt: skip


def fenced_and_rebooted(lab: Lab, host: str, starts_before: int) -> None:
    """`host`'s collector exited 75 (it fenced) and was started again, as a rebooted host."""
    collector = lab.collectors[host]
    lab.eventually(
        lambda: 75 in collector.exits and collector.starts > starts_before,
        FAILOVER_S,
        f"{host}'s collector exits 75 and is started again",
    )
