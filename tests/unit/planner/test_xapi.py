"""The XenServer baseline (`--method xapi`): its heuristics, its answers' meaning, and that it
never promises more than the truth (a brute-force oracle on small pools)."""

from __future__ import annotations

from itertools import combinations
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import Pool
from services.planner import max_failures
from services.planner.xapi import heuristic_for, plan_exists_for, xapi_max_failures

# --- pools and a brute-force oracle -------------------------------------------------------


def make_pool(hosts: dict[str, int], vms: list[dict[str, Any]], ntol: int = 0) -> Pool:
    """A pool from host memories and VM dicts (memory_mib, host, priority default restart)."""
    return Pool.model_validate(
        {
            "name": "test",
            "ha": {"host_failures_to_tolerate": ntol},
            "hosts": [{"name": n, "memory_mib": m} for n, m in hosts.items()],
            "vms": [
                {"name": f"vm{i}", "ha_restart_priority": "restart", **vm}
                for i, vm in enumerate(vms)
            ],
        }
    )


def _packs(items: list[tuple[int, str | None]], room: list[int], groups: list[set[str]]) -> bool:
    """Exact search: can every item (size, group) go on some bin, memory and groups kept?"""
    if not items:
        return True
    (size, group), rest = items[0], items[1:]
    tried: set[tuple[int, frozenset[str]]] = set()
    for j in range(len(room)):
        if room[j] < size or (group is not None and group in groups[j]):
            continue
        # Two bins with the same room and groups are interchangeable: try one of them.
        key = (room[j], frozenset(groups[j]))
        if key in tried:
            continue
        tried.add(key)
        room[j] -= size
        added = group is not None
        if added:
            groups[j].add(group)  # type: ignore[arg-type]
        ok = _packs(rest, room, groups)
        room[j] += size
        if added:
            groups[j].discard(group)  # type: ignore[arg-type]
        if ok:
            return True
    return False


def feasible(pool: Pool, failed: tuple[str, ...]) -> bool:
    """spec/planner.md: the protected VMs of the failed hosts fit on the survivors."""
    survivors = [h for h in pool.host_names if h not in failed]
    items = sorted(
        ((v.footprint, v.anti_affinity) for v in pool.vms if v.host in failed and v.protected),
        key=lambda it: -it[0],
    )
    room = [pool.free_mib(h) for h in survivors]
    groups = [{v.anti_affinity for v in pool.vms_on(h) if v.anti_affinity} for h in survivors]
    return _packs(items, room, groups)


def oracle_max_failures(pool: Pool) -> int:
    """The largest k such that every failure set of size <= k is feasible, by enumeration."""
    for k in range(1, len(pool.hosts)):
        if not all(feasible(pool, f) for f in combinations(pool.host_names, k)):
            return k - 1
    return len(pool.hosts) - 1


@st.composite
def small_pools(draw: st.DrawFn, max_hosts: int = 5) -> Pool:
    """Small random pools, often tight: sizes from a few values so that packings are close
    calls, some VMs unprotected or halted, some in anti-affinity groups."""
    n = draw(st.integers(2, max_hosts))
    memory = draw(st.lists(st.sampled_from([4, 6, 8, 10, 12]), min_size=n, max_size=n))
    hosts = {f"h{i}": m for i, m in enumerate(memory)}
    room = dict(hosts)
    priorities = ["restart", "restart", "restart", "", "best-effort"]
    vms: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 4 * n))):
        size = draw(st.sampled_from([1, 2, 3, 4, 5]))
        host = draw(st.sampled_from([*hosts, None]))
        if host is not None and room[host] < size:
            host = None
        if host is not None:
            room[host] -= size
        vms.append(
            {
                "memory_mib": size,
                "host": host,
                "ha_restart_priority": draw(st.sampled_from(priorities)),
                "anti_affinity": draw(st.sampled_from([None, None, None, "web", "db"])),
            }
        )
    return make_pool(hosts, vms)


# --- behaviour on hand-made pools ----------------------------------------------------------


def worst_fit_trap() -> Pool:
    """a's VMs (3,3,2,2,2) fit on b and c (6 free each) as 2+2+2 and 3+3, but worst fit puts
    3 and 3 on b and c, then 2 and 2, and the last 2 finds 1 MiB on each."""
    return make_pool(
        {"a": 12, "b": 6, "c": 6},
        [{"memory_mib": m, "host": "a"} for m in (3, 3, 2, 2, 2)],
    )


def test_worst_fit_misses_an_existing_packing_so_the_baseline_under_reports() -> None:
    """Where worst-fit decreasing fails but a packing exists, the baseline answers lower
    than the truth, and names the failure order its packing could not handle."""
    pool = worst_fit_trap()
    assert oracle_max_failures(pool) == 1
    assert xapi_max_failures(pool).max_host_failures_to_tolerate == 0
    check = plan_exists_for(pool, 1)
    assert check.heuristic == "exhaustive"
    assert not check.plan_exists
    assert check.breaking_sequence == ("a",)


def test_baseline_refutes_nothing_so_it_is_not_exact_below_the_top() -> None:
    """A failed heuristic packing proves no infeasibility: upper bound hosts-1, no certificate,
    exact False, method 'xapi'."""
    result = xapi_max_failures(worst_fit_trap())
    assert result.method == "xapi"
    assert (result.upper_bound, result.exact, result.worst_failure_set) == (2, False, None)


def test_baseline_is_exact_when_every_host_but_one_may_fail() -> None:
    """When the baseline proves hosts-1 failures, nothing is left to refute: exact."""
    pool = make_pool({"a": 8, "b": 8, "c": 8}, [{"memory_mib": 2, "host": "a"}])
    result = xapi_max_failures(pool)
    assert (result.max_host_failures_to_tolerate, result.upper_bound, result.exact) == (2, 2, True)


def test_anti_affinity_is_respected_even_though_xapi_ignores_it() -> None:
    """Two protected VMs of one group on two hosts: neither can restart on the other host,
    so the baseline must not claim one failure is tolerable (memory alone would allow it)."""
    pool = make_pool(
        {"a": 16, "b": 16},
        [
            {"memory_mib": 1, "host": "a", "anti_affinity": "web"},
            {"memory_mib": 1, "host": "b", "anti_affinity": "web"},
        ],
    )
    assert oracle_max_failures(pool) == 0
    assert xapi_max_failures(pool).max_host_failures_to_tolerate == 0
    assert not plan_exists_for(pool, 1, heuristic="approximation").plan_exists


def test_unprotected_vms_are_overhead_not_restarted() -> None:
    """Unprotected and best-effort VMs take memory where they run but are never planned for:
    a host full of them may fail without any room elsewhere."""
    pool = make_pool(
        {"a": 8, "b": 8},
        [
            {"memory_mib": 8, "host": "a", "ha_restart_priority": ""},
            {"memory_mib": 8, "host": "b", "ha_restart_priority": "best-effort"},
        ],
    )
    assert xapi_max_failures(pool).max_host_failures_to_tolerate == 1


def test_heuristic_choice_follows_xapi_threshold() -> None:
    """Exhaustive only while C(n,r)·r! < 3500 and the pool has at most 32 hosts."""
    assert heuristic_for(16, 3) == "exhaustive"  # 560·6 = 3360
    assert heuristic_for(16, 4) == "approximation"  # 1820·24 = 43680
    assert heuristic_for(9, 4) == "exhaustive"  # 126·24 = 3024
    assert heuristic_for(10, 4) == "approximation"  # 210·24 = 5040
    assert heuristic_for(7, 6) == "approximation"  # 7·720 = 5040
    assert heuristic_for(6, 5) == "exhaustive"  # 6·120 = 720
    assert heuristic_for(33, 1) == "approximation"
    assert heuristic_for(32, 1) == "exhaustive"


def test_approximation_treats_every_vm_as_large_as_the_largest() -> None:
    """33 hosts (always the approximation) of 10 MiB: h0 runs four protected 1 MiB VMs, h1 one
    of 8 MiB, and 28 hosts are filled to 7 MiB free by unprotected VMs. Every single failure
    is feasible (h0's VMs fit anywhere, h1's fits on h30). But counted as 8 MiB each, h0's four
    VMs need four 8 MiB slots and only h30..h32 have one (and the approximation lets the best
    of them fail): no plan. Without the 8 MiB VM the same pool passes."""
    hosts = {f"h{i}": 10 for i in range(33)}
    small = [{"memory_mib": 1, "host": "h0"} for _ in range(4)]
    filler = [{"memory_mib": 3, "host": f"h{i}", "ha_restart_priority": ""} for i in range(2, 30)]
    crowded = make_pool(hosts, [*small, {"memory_mib": 8, "host": "h1"}, *filler])
    assert all(feasible(crowded, (h,)) for h in crowded.host_names)
    check = plan_exists_for(crowded, 1)
    assert check.heuristic == "approximation"
    assert not check.plan_exists
    assert xapi_max_failures(crowded).max_host_failures_to_tolerate == 0
    assert plan_exists_for(make_pool(hosts, [*small, *filler]), 1).plan_exists


def test_failures_out_of_range_are_refused() -> None:
    """plan_exists_for is defined for 0..hosts-1 failures only."""
    pool = worst_fit_trap()
    for bad in (-1, 3):
        try:
            plan_exists_for(pool, bad)
        except ValueError as exc:
            assert "between 0 and 2" in str(exc)
        else:
            raise AssertionError(f"{bad} failures accepted")


# --- properties against the oracle ---------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_pools())
def test_baseline_is_never_above_the_truth(pool: Pool) -> None:
    """The baseline never promises protection that does not exist (brute-force oracle)."""
    assert xapi_max_failures(pool).max_host_failures_to_tolerate <= oracle_max_failures(pool)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_pools(), st.data())
def test_each_heuristic_is_sound_on_its_own(pool: Pool, data: st.DataObject) -> None:
    """Whichever heuristic runs, 'plan exists for r' means every failure set of size <= r
    really is feasible (so the bisection's answer is sound whatever r it lands on)."""
    r = data.draw(st.integers(0, len(pool.hosts) - 1))
    heuristic = data.draw(st.sampled_from(["exhaustive", "approximation"]))
    if plan_exists_for(pool, r, heuristic=heuristic).plan_exists:
        for k in range(1, r + 1):
            assert all(feasible(pool, f) for f in combinations(pool.host_names, k))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_pools(max_hosts=10))
def test_baseline_is_never_above_the_exact_planner(pool: Pool) -> None:
    """Against haplan's exact planner, on pools large enough for xapi's approximation (ten
    hosts: from four failures on): the baseline never answers more than the exact value."""
    exact = max_failures(pool)
    assert exact.exact
    assert xapi_max_failures(pool).max_host_failures_to_tolerate <= (
        exact.max_host_failures_to_tolerate
    )
