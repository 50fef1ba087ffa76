"""Schedules to simulate: seeded random ones, the exhaustive small-pool grid, and single faults.

Everything is derived from a seed or from the grid coordinates, so any schedule can be built
again from what a report prints.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator
from dataclasses import replace
from importlib.resources import files

from schemas.pool import VM, HAConfig, Host, Pool
from schemas.pool_file import parse_pool
from services.common.timers import Timers
from services.common.watchdog_timing import highest_device_timeout_s, lowest_device_timeout_s
from services.sim.faults import ALL, Arbiters, Fault, Kind, Schedule

WITNESS = "witness"
# Per-host choices of the exhaustive mode.
EXHAUSTIVE_FAULTS = ("none", Kind.POWER, Kind.BUS_LINK, Kind.STORE_LINK, Kind.HANG)
# Whether the kills of every faulted host are confirmed at once, or never (their VMs live
# until the watchdog fires).
EXHAUSTIVE_KILLS = ("prompt", "stuck")


def lab_pool(timeout_s: float = 30.0) -> Pool:
    """The article's pool: lab1 and lab2, Minion 1 protected on lab1."""
    text = files("schemas").joinpath("examples/lab.yaml").read_text(encoding="utf-8")
    pool = parse_pool(text, "lab.yaml")
    return pool.model_copy(update={"ha": pool.ha.model_copy(update={"timeout_s": timeout_s})})


def _span(timeout_s: float) -> tuple[Timers, float, float]:
    t = Timers.from_timeout(timeout_s)
    heal = 3 * t.t_dead_s
    return t, heal, heal + 4 * t.t_dead_s


def single_fault(
    pool: Pool,
    kind: Kind,
    targets: tuple[str, ...],
    *,
    at: float | None = None,
    until: float | None = None,
    arbiters: Arbiters | None = None,
    seed: int = 0,
) -> Schedule:
    """One fault, starting after the first leader's warm-up unless `at` says otherwise."""
    t, heal, end = _span(pool.ha.timeout_s)
    start = t.t_dead_s + 0.37 * t.interval_s if at is None else at
    return Schedule(
        seed,
        pool,
        arbiters or Arbiters(tuple(h.name for h in pool.hosts)),
        (Fault(kind, start, until, targets),),
        heal,
        end,
        pool.ha.timeout_s,
    )


def uniform_pool(n: int, timeout_s: float) -> Pool:
    hosts = tuple(Host(name=f"h{i}", memory_mib=32768, reserved_mib=2048) for i in range(1, n + 1))
    vms = tuple(
        VM(
            name=f"vm{i}",
            memory_mib=4096,
            memory_overhead_mib=64,
            host=f"h{i}",
            ha_restart_priority="restart",
        )
        for i in range(1, n + 1)
    )
    ha = HAConfig(host_failures_to_tolerate=n - 1, timeout_s=timeout_s)
    return Pool(name=f"{n}-host pool", ha=ha, hosts=hosts, vms=vms)


def exhaustive(
    hosts: int, timeout_s: float, kills: tuple[str, ...] = EXHAUSTIVE_KILLS
) -> Iterator[Schedule]:
    """Every combination of {none, power, bus link, store link, hang} per host, at several
    timings (all at once; staggered by a fraction of an interval, by T/2, by T_dead), for
    several durations (healed before anyone must fence; just after fencing; until the end),
    with the arbiters on the hosts (first host leads) or on a separate witness, and with the
    faulted hosts' kills confirmed at once or stuck until the watchdog."""
    t, heal, end = _span(timeout_s)
    pool = uniform_pool(hosts, timeout_s)
    names = tuple(h.name for h in pool.hosts)
    i = t.interval_s
    staggers = (0.0, 0.45 * i, timeout_s / 2, t.t_dead_s)
    durations: tuple[float | None, ...] = (timeout_s / 2, timeout_s + 2 * i, None)
    layouts = (Arbiters(names), Arbiters((), (WITNESS,)))
    seed = 0
    for combo in itertools.product(EXHAUSTIVE_FAULTS, repeat=hosts):
        grid = itertools.product(staggers, durations, layouts, kills)
        for stagger, duration, layout, kill in grid:
            faults = []
            for k, (host, kind) in enumerate(zip(names, combo, strict=True)):
                if kind == "none":
                    continue
                start = t.t_dead_s + 0.37 * i + k * stagger
                stop = None if duration is None else start + duration
                faults.append(Fault(Kind(kind), start, stop, (host,)))
                if kill == "stuck":
                    faults.append(Fault(Kind.STUCK_KILL, start, None, (host,)))
            seed += 1
            # With stuck kills the collector restarts quickly (as under systemd), so that
            # its next incarnation meets the VMs the last one could not kill.
            reboot = 0.25 * i if kill == "stuck" else 0.0
            yield Schedule(seed, pool, layout, tuple(faults), heal, end, timeout_s, reboot)


def exhaustive_count(hosts: int, kills: tuple[str, ...] = EXHAUSTIVE_KILLS) -> int:
    combos: int = len(EXHAUSTIVE_FAULTS) ** hosts
    return combos * 4 * 3 * 2 * len(kills)


def exhaustive_hostile(
    hosts: int, timeout_s: float, kills: tuple[str, ...] = EXHAUSTIVE_KILLS
) -> Iterator[Schedule]:
    """The exhaustive grid with a hostile host (any one host may be): each host in turn,
    hostile from the first leader's judging to the end and otherwise unfaulted, with every
    row of `exhaustive` that leaves it unfaulted (so every combination of faults on the other
    hosts, at every timing, duration, layout and kind of kill)."""
    t, _, _ = _span(timeout_s)
    start = t.t_dead_s + 0.37 * t.interval_s
    seed = 0
    for hostile in (f"h{k}" for k in range(1, hosts + 1)):
        for s in exhaustive(hosts, timeout_s, kills):
            if any(hostile in f.targets for f in s.faults):
                continue
            seed += 1
            forger = Fault(Kind.HOSTILE, start, None, (hostile,))
            yield replace(s, seed=seed, faults=(forger, *s.faults))


def exhaustive_hostile_count(hosts: int, kills: tuple[str, ...] = EXHAUSTIVE_KILLS) -> int:
    combos: int = hosts * len(EXHAUSTIVE_FAULTS) ** (hosts - 1)
    return combos * 4 * 3 * 2 * len(kills)


# Random schedules ------------------------------------------------------------------------------

_KINDS = (
    (Kind.POWER, 3.0),
    (Kind.BUS_LINK, 3.0),
    (Kind.PARTITION, 1.5),
    (Kind.QUORUM, 1.0),
    (Kind.STORE_LINK, 3.0),
    (Kind.HANG, 2.0),
    (Kind.DELAY, 1.5),
    (Kind.LOSS, 1.0),
    (Kind.DUPLICATION, 1.0),
    (Kind.ARBITER_CRASH, 1.5),
    (Kind.LEADER_CHANGE, 1.0),
    ("flap", 1.5),
)
# Composites, drawn from a second generator so that a seed's other faults stay what they were:
# a fault that makes a host fence (or hang), with kills that fail or are late, or with the news
# of its lease's revocation late or lost.
_FENCE_KINDS: tuple[tuple[str, float], ...] = (("stuck_kill", 2.0), ("late_revocation", 1.0))


def _random_pool(rng: random.Random, n: int, timeout_s: float) -> Pool:
    hosts = tuple(
        Host(name=f"h{i}", memory_mib=rng.choice((16384, 32768)), reserved_mib=1024)
        for i in range(1, n + 1)
    )
    vms: list[VM] = []
    for host in hosts:
        room = host.memory_mib - host.reserved_mib
        for _ in range(rng.randint(0, 3)):
            size = rng.choice((1024, 2048, 4096, 8192))
            if size + 64 > room // 2:
                continue
            room -= size + 64
            vms.append(
                VM(
                    name=f"vm{len(vms) + 1}",
                    memory_mib=size,
                    memory_overhead_mib=64,
                    host=host.name,
                    ha_restart_priority="restart" if rng.random() < 0.6 else "",
                    order=rng.randint(0, 2),
                )
            )
    ha = HAConfig(host_failures_to_tolerate=0, timeout_s=timeout_s)
    return Pool(name=f"random pool {n}", ha=ha, hosts=hosts, vms=tuple(vms))


def random_schedule(seed: int, hosts: int | None = None, timeout_s: float = 30.0) -> Schedule:
    rng = random.Random(seed)
    n = hosts if hosts is not None else rng.randint(2, 5)
    pool = _random_pool(rng, n, timeout_s)
    names = [h.name for h in pool.hosts]
    t, heal, end = _span(timeout_s)
    on_hosts = rng.sample(names, rng.randint(1, min(3, n)))
    witnesses = (WITNESS,) if rng.random() < 0.35 else ()
    arbiters = Arbiters(tuple(on_hosts), witnesses)
    window = heal - t.t_dead_s
    faults: list[Fault] = []
    for _ in range(rng.randint(1, 5)):
        faults.extend(_random_fault(rng, names, arbiters, t, window))
    fence_rng = random.Random(f"fence-{seed}")
    for _ in range(fence_rng.choice((0, 0, 1, 1, 2))):
        faults.extend(_fence_fault(fence_rng, names, t, window))
    faults.extend(_hostile(seed, names, t, window))
    faults.sort(key=lambda f: f.start)
    # A collector restarted at once (systemd) or after a machine's reboot (the default).
    reboot = 0.25 * t.interval_s if fence_rng.random() < 0.4 else 0.0
    return Schedule(
        seed,
        pool,
        arbiters,
        tuple(faults),
        heal,
        end,
        timeout_s,
        reboot,
        device_watchdog_s=_device_watchdog(seed, t),
    )


def _device_watchdog(seed: int, t: Timers) -> float | None:
    """A device watchdog (`--watchdog linux`) in one schedule of three, with a whole-second
    timeout the collector accepts for this T; drawn from a generator of its own so that a
    seed's faults stay what they were."""
    rng = random.Random(f"watchdog-{seed}")
    low = math.ceil(lowest_device_timeout_s(t))
    high = math.floor(highest_device_timeout_s(t))
    if rng.random() >= 1 / 3 or low > high:
        return None
    return float(rng.randint(max(1, low), high))


HOSTILE_SHARE = 0.2  # of random schedules with a hostile host


def _hostile(seed: int, names: list[str], t: Timers, window: float) -> list[Fault]:
    """A hostile host (any one host may be) in some schedules, drawn from a stream of its own
    so that the other faults of every seed stay what they were before hostile hosts."""
    rng = random.Random(f"hostile:{seed}")
    if rng.random() >= HOSTILE_SHARE:
        return []
    start = rng.uniform(0.0, window)
    end = None if rng.random() < 0.5 else start + rng.uniform(t.timeout_s, 3 * t.t_dead_s)
    return [Fault(Kind.HOSTILE, start, end, (rng.choice(names),))]


def _random_fault(
    rng: random.Random, names: list[str], arbiters: Arbiters, t: Timers, window: float
) -> list[Fault]:
    kinds, weights = zip(*_KINDS, strict=True)
    kind = rng.choices(kinds, weights)[0]
    start = rng.uniform(t.interval_s, window)
    end = None if rng.random() < 0.3 else start + rng.uniform(0.2 * t.timeout_s, 2 * t.t_dead_s)
    if kind == "flap":
        what = rng.choice((Kind.BUS_LINK, Kind.STORE_LINK))
        host = rng.choice(names)
        period = rng.uniform(0.3, 1.5) * t.timeout_s
        return [
            Fault(what, start + 2 * k * period, start + (2 * k + 1) * period, (host,))
            for k in range(rng.randint(2, 5))
        ]
    assert isinstance(kind, Kind)
    if kind in (Kind.POWER, Kind.STORE_LINK, Kind.HANG):
        return [Fault(kind, start, end, _some(rng, names))]
    if kind in (Kind.BUS_LINK, Kind.PARTITION):
        return [Fault(kind, start, end, _some(rng, names + list(arbiters.witnesses)))]
    if kind is Kind.QUORUM:
        return [Fault(kind, start, end)]
    if kind in (Kind.DELAY, Kind.LOSS, Kind.DUPLICATION):
        who = rng.choice([ALL, *names, *arbiters.witnesses])
        amount = {
            Kind.DELAY: rng.uniform(0.05, 0.8) * t.interval_s,
            Kind.LOSS: rng.uniform(0.05, 0.5),
            Kind.DUPLICATION: rng.uniform(0.1, 0.5),
        }[kind]
        return [Fault(kind, start, end, (who,), round(amount, 3))]
    if kind is Kind.ARBITER_CRASH:
        node = rng.choice([f"arbiter@{h}" for h in arbiters.on_hosts] + list(arbiters.witnesses))
        return [Fault(kind, start, end, (node,))]
    return [Fault(Kind.LEADER_CHANGE, start, None)]


def _some(rng: random.Random, names: list[str]) -> tuple[str, ...]:
    r = rng.random()
    if r < 0.6 or len(names) == 1:
        return (rng.choice(names),)
    if r < 0.85:
        return tuple(sorted(rng.sample(names, rng.randint(2, len(names)))))
    return tuple(names)


def _fence_fault(rng: random.Random, names: list[str], t: Timers, window: float) -> list[Fault]:
    kinds, weights = zip(*_FENCE_KINDS, strict=True)
    kind = rng.choices(kinds, weights)[0]
    start = rng.uniform(t.interval_s, window)
    end = None if rng.random() < 0.3 else start + rng.uniform(0.2 * t.timeout_s, 2 * t.t_dead_s)
    if kind == "stuck_kill":
        # amount 0: the VMs live until the watchdog fires; else they die that much later.
        late = 0.0 if rng.random() < 0.5 else round(rng.uniform(0.1, 1.5) * t.timeout_s, 3)
        targets = _some(rng, names)
        cause = rng.choice((Kind.BUS_LINK, Kind.STORE_LINK, Kind.PARTITION, Kind.HANG))
        return [
            Fault(Kind.STUCK_KILL, start, end, targets, late),
            Fault(cause, start + rng.uniform(0.0, t.timeout_s), end, targets),
        ]
    late = 0.0 if rng.random() < 0.3 else round(rng.uniform(0.1, 1.0) * t.timeout_s, 3)
    targets = _some(rng, names)
    cause = rng.choice((Kind.HANG, Kind.PARTITION, Kind.BUS_LINK))
    return [
        Fault(Kind.LATE_REVOCATION, start, end, targets, late),
        Fault(cause, start, end, targets),
    ]
