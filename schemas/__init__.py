"""Public data contracts of haplan: the pool description (and, later, events and commands)."""

from schemas.pool import BEST_EFFORT, RESTART, UNPROTECTED, VM, HAConfig, Host, Pool, Priority
from schemas.pool_file import PoolError, dump_pool, load_pool, parse_pool, pool_to_data

__all__ = [
    "BEST_EFFORT",
    "RESTART",
    "UNPROTECTED",
    "VM",
    "HAConfig",
    "Host",
    "Pool",
    "PoolError",
    "Priority",
    "dump_pool",
    "load_pool",
    "parse_pool",
    "pool_to_data",
]
