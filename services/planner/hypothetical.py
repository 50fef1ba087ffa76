"""Hypothetical pools for what-if queries. STUB: signature fixed."""

from __future__ import annotations

from dataclasses import dataclass

from schemas import VM, Host, Pool, Priority


@dataclass(frozen=True, slots=True)
class PoolChange:
    """A what-if change to a pool; applied in the order of the fields."""

    add_hosts: tuple[Host, ...] = ()
    remove_hosts: tuple[str, ...] = ()
    add_vms: tuple[VM, ...] = ()
    remove_vms: tuple[str, ...] = ()
    set_priority: tuple[tuple[str, Priority], ...] = ()
    set_ntol: int | None = None


def apply_change(pool: Pool, change: PoolChange) -> Pool:
    """The pool as it would be after `change`; raises KeyError/ValueError for unknown names or
    an impossible result (the CLI turns these into one-line errors)."""
    raise NotImplementedError
