"""Max host failures to tolerate: equal to the brute-force oracle, with a true certificate."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from schemas import Pool, load_pool
from services.planner import max_failures
from tests.unit.planner import oracle
from tests.unit.planner.pools import pool, small_pools, tight_pools, vm

SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_exact(p: Pool) -> None:
    """The answer equals the oracle, is exact, and its certificate is really infeasible."""
    truth = oracle.max_failures(p)
    got = max_failures(p)
    assert (got.max_host_failures_to_tolerate, got.upper_bound, got.exact) == (truth, truth, True)
    assert_certificate(p, got.upper_bound, got.worst_failure_set)


def assert_certificate(p: Pool, upper: int, worst: tuple[str, ...] | None) -> None:
    """The worst failure set refutes upper+1 (an infeasible set of that size), or is None
    when every host but one may fail."""
    if upper == len(p.hosts) - 1:
        assert worst is None
    else:
        assert worst is not None
        assert len(set(worst)) == upper + 1
        assert not oracle.feasible(p, set(worst))


def test_lab_pool_tolerates_one_failure() -> None:
    """The article's lab pool: either host can fail (not both, but that is every host)."""
    got = max_failures(load_pool("schemas/examples/lab.yaml"))
    assert {k: v for k, v in got.to_json().items() if k != "stats"} == {
        "pool": "Lab pool",
        "max_host_failures_to_tolerate": 1,
        "exact": True,
        "upper_bound": 1,
        "host_failures_to_tolerate": 1,
        "overcommitted": False,
        "worst_failure_set": None,
        "method": "exact",
    }


def test_packing_that_worst_fit_misses_still_counts() -> None:
    """Survivors 10+10 can take 6,4,4,3,3 ({6,4},{4,3,3}) although worst-fit decreasing
    strands a 3: one failure is tolerable, two are not (10 MiB left for 20)."""
    p = pool(
        {"dead": 24, "s1": 10, "s2": 10},
        [vm(f"v{i}", m, "dead") for i, m in enumerate([6, 4, 4, 3, 3])],
        ntol=1,
    )
    got = max_failures(p)
    assert (got.max_host_failures_to_tolerate, got.exact, got.overcommitted) == (1, True, False)
    assert_certificate(p, 1, got.worst_failure_set)


def test_infeasible_by_packing_alone_is_refuted_by_cpsat() -> None:
    """Three survivors of 7 MiB cannot take 5,5,5,3,3 (21 MiB, as much as they have): every
    survivor takes one 5 and keeps 2, so the 3s fit nowhere. No memory or count bound shows
    it; CP-SAT proves it, and the answer is 0 with the failing host as certificate."""
    p = pool(
        {"dead": 21, "s1": 7, "s2": 7, "s3": 7},
        [vm(f"v{i}", m, "dead") for i, m in enumerate([5, 5, 5, 3, 3])],
    )
    got = max_failures(p)
    assert (got.max_host_failures_to_tolerate, got.exact) == (0, True)
    assert got.worst_failure_set == ("dead",)
    assert got.stats.cpsat_calls >= 1
    assert got.overcommitted is False


def test_identical_hosts_are_one_symmetry_class() -> None:
    """Eight identical hosts form one class; the answer is exact and equals the oracle."""
    hosts = {f"h{i}": 16 for i in range(8)}
    vms = [vm(f"v{i}-{j}", 3, f"h{i}") for i in range(8) for j in range(2)]
    p = pool(hosts, vms)
    got = max_failures(p)
    assert got.stats.symmetry_classes == 1
    assert_exact(p)


def test_overcommitted_when_the_answer_is_below_ntol() -> None:
    """A pool configured for more failures than it can absorb is reported overcommitted."""
    p = pool({"a": 10, "b": 10}, [vm("x", 8, "a"), vm("y", 8, "b")], ntol=1)
    got = max_failures(p)
    assert (got.max_host_failures_to_tolerate, got.overcommitted) == (0, True)
    assert got.worst_failure_set in (("a",), ("b",))


@SETTINGS
@given(p=small_pools())
def test_equals_the_oracle_on_small_pools(p: Pool) -> None:
    """On random small pools (groups, best-effort, unprotected, local and halted VMs) the
    answer is exact and its certificate infeasible."""
    assert_exact(p)


@SETTINGS
@given(p=tight_pools())
def test_equals_the_oracle_on_tight_pools(p: Pool) -> None:
    """On tight pools of coarse VMs, where greedy packings fail, the answer is still exact."""
    assert_exact(p)


@SETTINGS
@given(p=tight_pools())
def test_without_work_it_returns_bounds_never_a_guess(p: Pool) -> None:
    """With no work allowed beyond the closed-form bounds, the proven value is never above
    the truth, the upper bound never below it, exact only when they meet, and the worst
    failure set refutes upper_bound + 1."""
    truth = oracle.max_failures(p)
    got = max_failures(p, work_limit=0)
    assert got.max_host_failures_to_tolerate <= truth <= got.upper_bound
    assert got.exact == (got.max_host_failures_to_tolerate == got.upper_bound)
    assert_certificate(p, got.upper_bound, got.worst_failure_set)


def test_a_gap_is_reported_as_not_exact() -> None:
    """The 5,5,5,3,3 pool needs CP-SAT; with no work allowed the answer is [0, 1], not exact."""
    p = pool(
        {"dead": 21, "s1": 7, "s2": 7, "s3": 7},
        [vm(f"v{i}", m, "dead") for i, m in enumerate([5, 5, 5, 3, 3])],
    )
    got = max_failures(p, work_limit=0)
    assert (got.max_host_failures_to_tolerate, got.upper_bound, got.exact) == (0, 1, False)


def test_progress_reaches_its_total_and_never_goes_back() -> None:
    """on_progress gets a non-decreasing done count ending at total."""
    seen: list[tuple[int, int]] = []
    p = pool(
        {"dead": 24, "s1": 10, "s2": 10},
        [vm(f"v{i}", m, "dead") for i, m in enumerate([6, 4, 4, 3, 3])],
    )
    max_failures(p, on_progress=lambda done, total: seen.append((done, total)))
    dones = [d for d, _ in seen]
    assert dones == sorted(dones)
    assert seen[-1][0] == seen[-1][1] > 0


def test_same_pool_same_answer_and_stats() -> None:
    """Two runs on the same pool give the same result, statistics included."""
    p = pool(
        {f"h{i}": 20 for i in range(7)},
        [vm(f"v{i}-{j}", 3 + (i + j) % 4, f"h{i}") for i in range(7) for j in range(3)],
    )
    assert max_failures(p) == max_failures(p)


def test_large_pool_of_identical_hosts_has_the_counted_answer() -> None:
    """24 identical hosts, each with two 4 MiB protected VMs and 8 MiB free: k failures need
    8k MiB of the 8(24-k) left, so 12 fail safely and 13 do not (too big for the oracle; the
    answer follows from counting)."""
    p = pool(
        {f"h{i:02}": 16 for i in range(24)},
        [vm(f"v{i}-{j}", 4, f"h{i:02}") for i in range(24) for j in range(2)],
    )
    got = max_failures(p)
    assert (got.max_host_failures_to_tolerate, got.exact) == (12, True)
    assert got.worst_failure_set is not None and len(got.worst_failure_set) == 13
    assert got.stats.symmetry_classes == 1
