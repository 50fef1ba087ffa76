"""The article's experiments, on lab1 of the lab pool `haplan up` runs (T = 3 s), each pulled
with `haplan fault` from another terminal: pull the power, the storage cable, the network
cable, or hang lab1's collector. Each time Minion 1 ends up running on lab2 and its disk never
had two writers at once; healed, lab1 rejoins the liveset."""

from __future__ import annotations

import time
from datetime import datetime

from tests.integration.up.harness import Up, overlaps, writers

T_DEAD = 3.0 + 4 * 0.3  # services.common.timers for T = 3
FAILOVER_S = 30.0  # generous bounds: the waits end as soon as the outcome shows
REJOIN_S = 30.0


def _at(event: dict[str, object]) -> float:
    return datetime.fromisoformat(str(event["at"]).replace("Z", "+00:00")).timestamp()


def _declared_dead(up: Up, host: str) -> dict[str, object]:
    return up.eventually(
        lambda: next(iter(up.events("host_declared_dead", host=host)), None),
        FAILOVER_S,
        f"{host} declared dead",
    )


def _minion_on_lab2_with_no_split_brain(up: Up, lab1: str) -> None:
    up.wait_state(
        {"lab1": lab1, "lab2": "live"}, {"Minion 1": ("lab2", "running")}, FAILOVER_S,
        "Minion 1 restarted on lab2",
    )  # fmt: skip
    disk = up.disk()
    up.eventually(
        lambda: "lab2" in {h for h, _, _ in writers(disk).values()}, 30, "lab2 writes Minion 1"
    )
    assert overlaps(disk) == []


def _heal_and_rejoin(up: Up) -> None:
    assert up.fault("heal", "lab1")["pulled"] == []
    up.wait_state(
        {"lab1": "live", "lab2": "live"}, {"Minion 1": ("lab2", "running")}, REJOIN_S,
        "lab1 back in the liveset",
    )  # fmt: skip
    assert overlaps(up.disk()) == []


def _fenced_and_rebooted(up: Up, since: int) -> None:
    """lab1's collector exited 75 and up started it again."""

    def rebooted() -> bool:
        notes = up.notes("lab1")[since:]
        fenced = [i for i, n in enumerate(notes) if n.get("returncode") == 75]
        return bool(fenced) and any("started" in n["text"] for n in notes[fenced[0] :])

    up.eventually(rebooted, FAILOVER_S, "lab1's collector exits 75 and is started again")


def test_power_lab1_is_declared_dead_after_t_dead_and_minion_1_runs_on_lab2(up: Up) -> None:
    """Pull lab1's power: its collector, watchdog and Minion 1 die at once and stay dead (no
    restart until healed); the arbiter declares lab1 dead by timeout, no sooner than T_dead
    after the pull, then Minion 1 runs on lab2. Heal: lab1 boots and rejoins, empty."""
    up.wait_live()
    pulled_at = time.time()
    assert up.fault("power", "lab1")["pulled"] == ["power"]
    off_at = time.time()  # the pull answers once lab1's processes are dead
    dead = _declared_dead(up, "lab1")
    assert dead["evidence"]["rule"] == "timeout"  # type: ignore[index]
    assert _at(dead) - pulled_at >= T_DEAD - 0.5
    _minion_on_lab2_with_no_split_brain(up, lab1="dead")
    lab1_writes = [w for w in writers(up.disk()).values() if w[0] == "lab1"]
    assert max(last for _, _, last in lab1_writes) / 1e9 < off_at, "lab1 wrote once off"
    assert up.notes("lab1")[-1]["text"].startswith("killed by signal 9; powered off")
    _heal_and_rejoin(up)


def test_storage_lab1_fences_reboots_and_minion_1_runs_on_lab2(up: Up) -> None:
    """Pull lab1's storage cable: Minion 1 loses its disk on lab1, lab1 fences (lab2 still
    sees the store) and its collector exits 75 and is started again; the arbiter declares lab1
    dead on its fenced mark and Minion 1 runs on lab2. Until healed lab1 cannot join: its
    host status says the heartbeat store is not reachable, as XenServer says it."""
    up.wait_live()
    before = len(up.notes("lab1"))
    up.fault("storage", "lab1")
    _fenced_and_rebooted(up, before)
    assert _declared_dead(up, "lab1")["evidence"]["rule"] == "fenced"  # type: ignore[index]
    _minion_on_lab2_with_no_split_brain(up, lab1="dead")

    def why_out() -> str | None:
        done = up.haplan("host", "status", "lab1", "--json")
        return done.stdout if "heartbeat store is not reachable" in done.stdout else None

    assert "cannot join the liveset" in up.eventually(why_out, FAILOVER_S, "lab1's reason")
    _heal_and_rejoin(up)


def test_network_lab1_fences_and_minion_1_runs_on_lab2(up: Up) -> None:
    """Pull lab1's network cable: lab1 loses its lease (lab2 holds the quorum), fences and
    exits 75, and is started again; lab1 is declared dead on its fenced mark (written to the
    store it still reaches) and Minion 1 runs on lab2. Heal: lab1 rejoins."""
    up.wait_live()
    before = len(up.notes("lab1"))
    up.fault("network", "lab1")
    _fenced_and_rebooted(up, before)
    assert _declared_dead(up, "lab1")["evidence"]["rule"] == "fenced"  # type: ignore[index]
    _minion_on_lab2_with_no_split_brain(up, lab1="dead")
    _heal_and_rejoin(up)


def test_hang_the_watchdog_kills_minion_1_before_lab1_is_declared_dead(up: Up) -> None:
    """Freeze lab1's collector: its watchdog, not petted, kills Minion 1 on lab1; only after
    that does the arbiter declare lab1 dead (by timeout) and Minion 1 run on lab2. Heal: the
    collector resumes, fences itself (exit 75), boots again and rejoins."""
    up.wait_live()
    up.fault("hang", "lab1")
    dead = _declared_dead(up, "lab1")
    assert dead["evidence"]["rule"] == "timeout"  # type: ignore[index]
    lab1_last = max(last for host, _, last in writers(up.disk()).values() if host == "lab1")
    assert lab1_last / 1e9 < _at(dead)
    assert "watchdog[lab1]: not petted" in up.log("collector-lab1")
    _minion_on_lab2_with_no_split_brain(up, lab1="dead")
    before = len(up.notes("lab1"))
    _heal_and_rejoin(up)
    _fenced_and_rebooted(up, before)
