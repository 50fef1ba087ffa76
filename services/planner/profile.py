"""Protected VMs counted by size, per host, as arrays: the form the proof rows are built from.

Building the rows from count matrices (hosts x distinct sizes) and flat arrays of grouped VMs
makes them cheap enough to rebuild inside the search, for the derived problems of the
two-stage proof (twostage.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.planner.instance import Instance

Matrix = npt.NDArray[np.int64]
Vector = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Grouped:
    """The protected VMs that belong to an anti-affinity group, one entry per VM."""

    host: Vector
    group: Vector
    """Index into Profile.groups."""
    col: Vector
    """Column of its size in Profile.sizes."""


@dataclass(frozen=True, slots=True)
class Profile:
    sizes: Vector
    """The distinct footprints of protected VMs in the pool, ascending (m of them)."""
    index: dict[int, int]
    """Footprint -> its column."""
    plain: Matrix
    """hosts x m: how many ungrouped protected VMs of each size run on each host."""
    groups: tuple[str, ...]
    grouped: Grouped
    outside: Mask
    """groups x hosts: True where the host runs no VM of the group (any priority)."""


def profile(inst: Instance) -> Profile:
    sizes = sorted({s for vms in inst.vms for s, _ in vms})
    index = {s: j for j, s in enumerate(sizes)}
    groups = tuple(sorted({g for vms in inst.vms for _, g in vms if g is not None}))
    group_index = {g: i for i, g in enumerate(groups)}
    plain = np.zeros((inst.n, len(sizes)), dtype=np.int64)
    hosts, group_of, cols = [], [], []
    for h, vms in enumerate(inst.vms):
        for s, g in vms:
            if g is None:
                plain[h, index[s]] += 1
            else:
                hosts.append(h)
                group_of.append(group_index[g])
                cols.append(index[s])
    outside = np.array([[g not in on for on in inst.groups] for g in groups], dtype=np.bool_)
    return Profile(
        sizes=np.array(sizes, dtype=np.int64),
        index=index,
        plain=plain,
        groups=groups,
        grouped=Grouped(
            np.array(hosts, np.int64), np.array(group_of, np.int64), np.array(cols, np.int64)
        ),
        outside=outside.reshape(len(groups), inst.n),
    )


@dataclass(frozen=True, slots=True)
class GuaranteeRows:
    """The any-fit-decreasing guarantee (bounds.py docstring) as rows over hosts."""

    weights: Matrix
    limits: Vector
    needs: Matrix
    """rows x hosts: 1 when the host has a VM of the row's size (and kind): a set needs the
    row only if one of its hosts does."""

    @classmethod
    def empty(cls, n: int) -> GuaranteeRows:
        return cls(np.zeros((0, n), np.int64), np.zeros(0, np.int64), np.zeros((0, n), np.int64))


def guarantee_rows(
    free: Vector,
    plain: Matrix,
    grouped: Grouped,
    outside: Mask,
    sizes: Vector,
    *,
    most_plain_rows: int | None = None,
) -> GuaranteeRows:
    """Rows for the hosts given (host indices into `free`, `plain` and `outside` columns).

    The greedy they are about places grouped VMs first, then ungrouped ones, each phase
    largest first (bounds.py). Plain rows, one per size s of an ungrouped VM: a host weighs its
    ungrouped VMs of size >= s, all its grouped VMs, and g_s = max(0, free - s + 1). Group rows,
    one per group y and size s of a VM of y: a host weighs its grouped VMs of size >= s, g_s if
    it runs no VM of y, and M_s per VM of y of size >= s it has (M_s: the largest g_s of a host
    that runs no VM of y).

    With `most_plain_rows`, consecutive plain sizes are merged into at most that many rows:
    the row for sizes lo..hi weighs VMs of size >= lo and g_hi, with limit lo + sum g_hi - 1.
    It still proves what the rows it replaces do (a VM of size s in lo..hi that gets stuck
    means D_s >= s + sum_S g_s, and D_lo >= D_s, s >= lo, g_hi <= g_s), only less sharply; it
    keeps pools with thousands of distinct VM sizes cheap inside the search.
    """
    n, m = plain.shape
    weights, limits, needs = [], [], []
    # Grouped VMs are few: their loads come from the VM list, not from hosts x sizes tables.
    grouped_size = sizes[grouped.col]
    grouped_total = np.zeros(n, dtype=np.int64)
    np.add.at(grouped_total, grouped.host, grouped_size)
    plain_cols = np.nonzero(plain.any(axis=0))[0]
    if plain_cols.size:
        if most_plain_rows is None or plain_cols.size <= most_plain_rows:
            starts = np.arange(plain_cols.size)
        else:  # near-equal runs of consecutive sizes
            starts = np.arange(most_plain_rows) * plain_cols.size // most_plain_rows
        ends = np.append(starts[1:], plain_cols.size) - 1
        lo, hi = plain_cols[starts], plain_cols[ends]
        counts = plain[:, plain_cols]
        bucket_load = np.add.reduceat(counts * sizes[plain_cols][None, :], starts, axis=1)
        load_from = np.cumsum(bucket_load[:, ::-1], axis=1)[:, ::-1]  # VMs of size >= lo
        g_hi = np.maximum(0, free[:, None] - sizes[hi][None, :] + 1)
        weights.append((load_from + grouped_total[:, None] + g_hi).T)
        limits.append(sizes[lo] + g_hi.sum(axis=0) - 1)
        needs.append((np.add.reduceat(counts, starts, axis=1) > 0).T.astype(np.int64))
    if grouped.host.size:
        rg = group_rows(grouped, n, m)
        cols, at = np.unique(grouped.col, return_inverse=True)
        by_col = np.zeros((n, cols.size), dtype=np.int64)
        np.add.at(by_col, (grouped.host, at), grouped_size)
        grouped_from = np.cumsum(by_col[:, ::-1], axis=1)[:, ::-1]  # grouped VMs >= cols[j]
        g = np.maximum(0, free[:, None] - sizes[rg.col][None, :] + 1)  # hosts x rows
        g_open = g.T * outside[rg.group]  # rows x hosts
        widest = g_open.max(axis=1)
        weights.append(
            grouped_from[:, np.searchsorted(cols, rg.col)].T + g_open + rg.ahead * widest[:, None]
        )
        limits.append(sizes[rg.col] + g_open.sum(axis=1) + widest - 1)
        needs.append(rg.has)
    if not weights:
        return GuaranteeRows.empty(n)
    return GuaranteeRows(np.vstack(weights), np.concatenate(limits), np.vstack(needs))


@dataclass(frozen=True, slots=True)
class GroupRows:
    """One row per (group, size) some grouped VM has, sorted by group then size."""

    group: Vector
    col: Vector
    ahead: Matrix
    """rows x hosts: the VMs of the row's group on the host with a size >= the row's."""
    has: Matrix
    """rows x hosts: 1 when the host has a VM of the row's group and size."""


def group_rows(grouped: Grouped, n: int, m: int) -> GroupRows:
    keys = grouped.group * m + grouped.col
    row_keys = np.unique(keys)
    # Each VM counts in `ahead` for the rows of its group with a size up to its own: a
    # contiguous run of rows, added as +1 at its start and -1 past its end, then summed.
    first = np.searchsorted(row_keys, grouped.group * m, side="left")
    last = np.searchsorted(row_keys, keys, side="right")
    diff = np.zeros((row_keys.size + 1, n), dtype=np.int64)
    np.add.at(diff, (first, grouped.host), 1)
    np.add.at(diff, (last, grouped.host), -1)
    has = np.zeros((row_keys.size, n), dtype=np.int64)
    has[np.searchsorted(row_keys, keys), grouped.host] = 1
    return GroupRows(row_keys // m, row_keys % m, np.cumsum(diff, axis=0)[:-1], has)


def counts_by_size(prof: Profile, n: int) -> Matrix:
    """hosts x m: every protected VM (grouped or not) counted by size."""
    counts = prof.plain.copy()
    np.add.at(counts, (prof.grouped.host, prof.grouped.col), 1)
    return counts


def tail(counts: Matrix, sizes: Vector) -> Matrix:
    """hosts x m: the memory of the VMs of size >= sizes[j], from counts by size."""
    by_size = counts * sizes[None, :]
    return np.cumsum(by_size[:, ::-1], axis=1)[:, ::-1]
