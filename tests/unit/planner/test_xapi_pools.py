"""The benchmark's pool generators (bench/pools.py): seeded, at the load asked for, and a
perfect-fit family on which XenServer's worst-fit packing really does miss packings."""

from __future__ import annotations

from bench.pools import perfect_fit_pool, random_pool
from schemas import Pool
from services.planner import max_failures
from services.planner.xapi import plan_exists_for, xapi_max_failures


def used_share(pool: Pool) -> float:
    total = sum(h.memory_mib for h in pool.hosts)
    return sum(h.memory_mib - pool.free_mib(h.name) for h in pool.hosts) / total


def test_random_pools_are_seeded() -> None:
    """Same seed, same pool; another seed, another pool."""
    a = random_pool(8, 120, load=0.85, protected=0.7, seed=3)
    assert a == random_pool(8, 120, load=0.85, protected=0.7, seed=3)
    assert a != random_pool(8, 120, load=0.85, protected=0.7, seed=4)


def test_random_pools_have_the_shape_asked_for() -> None:
    """Host and VM counts as asked, every VM running, memory used near the target load
    (reservations count as used), about the protected share asked, sizes 1 to 32 GiB."""
    for load in (0.65, 0.85):
        pool = random_pool(16, 400, load=load, protected=0.7, seed=1)
        assert (len(pool.hosts), len(pool.vms)) == (16, 400)
        assert all(v.running for v in pool.vms)
        assert abs(used_share(pool) - load) < 0.05
        protected = sum(v.protected for v in pool.vms) / len(pool.vms)
        assert 0.6 < protected < 0.8
        assert {v.memory_mib // 1024 for v in pool.vms} <= set(range(1, 33))


def test_perfect_fit_pools_tolerate_exactly_one_failure() -> None:
    """By construction any one host's protected VMs exactly fill the others' free memory:
    one failure is tolerable, two are not, and the planner proves it."""
    for seed in range(3):
        pool = perfect_fit_pool(6, seed=seed)
        result = max_failures(pool)
        assert (result.max_host_failures_to_tolerate, result.exact) == (1, True)
        assert result.worst_failure_set is not None and len(result.worst_failure_set) == 2


def test_worst_fit_misses_packings_in_the_perfect_fit_family() -> None:
    """The family does what it is for: on some seeds the baseline's worst-fit packing fails
    for a single host although a packing exists, so it answers 0 where the truth is 1."""
    answers = [xapi_max_failures(perfect_fit_pool(6, seed=s)) for s in range(8)]
    assert all(a.max_host_failures_to_tolerate <= 1 for a in answers)
    missed = [s for s, a in enumerate(answers) if a.max_host_failures_to_tolerate == 0]
    assert missed
    check = plan_exists_for(perfect_fit_pool(6, seed=missed[0]), 1)
    assert check.heuristic == "exhaustive" and check.breaking_sequence is not None
