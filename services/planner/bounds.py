"""Bounds that decide failure sets without packing them, for one set or for all sets at once.

Every bound is a row: a weight per host and a threshold, and a failure set F is judged by the
sum of the weights of its hosts. Because the test is linear in F, the worst F of size k for a
row is its k heaviest hosts, so one sort decides a row for all C(n, k) sets at once.

Notation: c(h) is the free memory of host h, S = hosts not in F (the survivors), the items of
F are the protected VMs running on hosts of F, D_s(F) the total size of those of size >= s,
g_s(h) = max(0, c(h) - s + 1), E_y the hosts already running a VM of anti-affinity group y.

Proofs (a row holds for F => F is feasible). Consider this greedy: first the grouped items of
F, then the ungrouped ones, each phase in non-increasing size order, each item to any survivor
with room and no VM of its group (any-fit). If it never gets stuck, F is feasible.
- Plain row s, for the sizes s of ungrouped items: weight Lu_s(h) + Lg(h) + g_s(h), where
  Lu_s(h) is the size of h's ungrouped items >= s and Lg(h) of all its grouped items; holds
  when sum_F weight <= s + sum_all g_s - 1. Why it proves: if the greedy got stuck on an
  ungrouped item x of size s, every survivor had less than s left, so it held at least
  g_s(h); what was placed is every grouped item and ungrouped items >= s, x (size s) not
  among them, so Lg(F) + Lu_s(F) >= s + sum_S g_s = s + sum_all g_s - sum_F g_s, which the
  row excludes.
- Group row (y, s), for the sizes s of items of group y: weight Lg_s(h) + g_s(h)[h not in
  E_y] + M * Ny_s(h), where Lg_s(h) is the size of h's grouped items >= s, Ny_s(h) the number
  of its items of y of size >= s and M the largest g_s of a host not in E_y; holds when
  sum_F weight <= s + sum_{h not in E_y} g_s(h) + M - 1. Why: if the greedy got stuck on x of
  group y and size s (first phase: only grouped items >= s placed so far), every survivor
  either had less than s left, or runs y (E_y), or received one of the at most Ny_s(F) - 1
  items of y placed before x. The survivors of the first kind held at least g_s each and the
  others are at most Ny_s(F) - 1 hosts of at most M each, so Lg_s(F) >= s + sum_{S \\ E_y}
  g_s - M (Ny_s(F) - 1), which the row excludes.
A set for which every row holds is placed entirely by the greedy, so it is feasible. Only rows
whose size s is the size of an item of F (of the row's kind) are needed for F; checking more
rows is only stricter. Grouped items go first because they are few and constrained: their
rows then compare a small demand with the whole pool's room.

Refutations (a row exceeded by F => F is infeasible):
- Memory above s: weight L_s(h) + c(h)[c(h) >= s], refuted when sum_F weight > sum_all
  c[c >= s]. Items of size >= s can only go to survivors with c >= s, which together hold at
  most sum_{S, c >= s} c. With s the smallest size this is the fluid bound.
- Count above s: weight N_s(h) + floor(c(h)/s), refuted when sum_F weight > sum_all
  floor(c/s), N_s(h) counting h's items >= s: a survivor holds at most floor(c/s) of them.
- Group y above s: weight N_{y,s}(h) + [h not in E_y and c(h) >= s], refuted when sum_F weight >
  #{h not in E_y, c(h) >= s}: items of y of size >= s need distinct survivors with room that
  do not run y already.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.planner.instance import Instance
from services.planner.profile import counts_by_size, group_rows, guarantee_rows, profile, tail

Matrix = npt.NDArray[np.int64]
Vector = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Rows:
    """Linear tests over failure sets: F passes row i when weights[i] @ F <= limits[i]."""

    weights: Matrix
    """rows x hosts"""
    limits: Vector
    needs: Matrix
    """rows x hosts, 1 when the host has an item the row is about (used for proofs only)"""

    def __len__(self) -> int:
        return int(self.limits.shape[0])

    def take(self, index: npt.NDArray[np.intp]) -> Rows:
        return Rows(self.weights[index], self.limits[index], self.needs[index])


def proof_rows(inst: Instance) -> Rows:
    """The any-fit-decreasing guarantee rows (see the module docstring)."""
    prof = profile(inst)
    free = np.array(inst.free, dtype=np.int64)
    rows = guarantee_rows(free, prof.plain, prof.grouped, prof.outside, prof.sizes)
    return Rows(rows.weights, rows.limits, rows.needs)


def refutation_rows(inst: Instance) -> Rows:
    """Rows whose excess proves a set infeasible (see the module docstring)."""
    prof = profile(inst)
    free = np.array(inst.free, dtype=np.int64)
    sizes = prof.sizes
    n, m = prof.plain.shape
    counts = counts_by_size(prof, n)
    if m == 0:
        return _rows(n, [], [], [])
    room = free[:, None] * (free[:, None] >= sizes[None, :])  # hosts x m
    slots = free[:, None] // sizes[None, :]
    count_tail = np.cumsum(counts[:, ::-1], axis=1)[:, ::-1]
    weights = [(tail(counts, sizes) + room).T, (count_tail + slots).T]
    limits = [room.sum(axis=0), slots.sum(axis=0)]
    if prof.grouped.host.size:
        rg = group_rows(prof.grouped, n, m)
        open_hosts = (prof.outside[rg.group] & (free[None, :] >= sizes[rg.col][:, None])).astype(
            np.int64
        )
        weights.append(rg.ahead + open_hosts)
        limits.append(open_hosts.sum(axis=1))
    w = np.vstack(weights)
    return Rows(w, np.concatenate(limits), np.ones_like(w))


def largest_proven(rows: Rows, n: int) -> int:
    """The largest k (0..n-1) such that every set of size <= k passes every row."""
    if len(rows) == 0:
        return n - 1
    tops = np.cumsum(-np.sort(-rows.weights, axis=1), axis=1)
    ok = tops <= rows.limits[:, None]
    bad = ~ok.all(axis=0)
    return int(np.argmax(bad)) if bad.any() else n - 1


def smallest_refuted(rows: Rows, n: int) -> tuple[int, tuple[int, ...]] | None:
    """The smallest k with a set of size k exceeding some row, and that set (its k heaviest
    hosts), or None when no set of size < n exceeds any row."""
    if len(rows) == 0:
        return None
    order = np.argsort(-rows.weights, axis=1, kind="stable")
    tops = np.cumsum(np.take_along_axis(rows.weights, order, axis=1), axis=1)
    over = tops > rows.limits[:, None]
    over[:, n - 1] = False  # every host failing is not a failure set the answer ranges over
    if not over.any():
        return None
    first = np.where(over.any(axis=1), np.argmax(over, axis=1), n)
    row = int(np.argmin(first))
    k = int(first[row]) + 1
    return k, tuple(sorted(int(h) for h in order[row, :k]))


def dangerous(rows: Rows, k: int) -> Rows:
    """The rows that some set of size k fails: the others hold for every such set."""
    tops = -np.sort(-rows.weights, axis=1)[:, :k].sum(axis=1)
    return rows.take(np.nonzero(tops > rows.limits)[0])


def _rows(
    n: int, weights: Sequence[Vector], limits: Sequence[int], needs: Sequence[Vector]
) -> Rows:
    if not weights:
        empty = np.zeros((0, n), dtype=np.int64)
        return Rows(empty, np.zeros(0, dtype=np.int64), empty)
    w = np.vstack(weights)
    need = np.vstack(needs) if needs else np.ones_like(w)
    return Rows(w, np.array(limits, dtype=np.int64), need)
