"""Public data contracts of haplan: the pool description and the events of the log."""

from schemas.events import Event, EventBase, EventDecodeError, decode_event, encode_event
from schemas.pool import BEST_EFFORT, RESTART, UNPROTECTED, VM, HAConfig, Host, Pool, Priority
from schemas.pool_file import PoolError, dump_pool, load_pool, parse_pool, pool_to_data

__all__ = [
    "BEST_EFFORT",
    "RESTART",
    "UNPROTECTED",
    "VM",
    "Event",
    "EventBase",
    "EventDecodeError",
    "HAConfig",
    "Host",
    "Pool",
    "PoolError",
    "Priority",
    "decode_event",
    "dump_pool",
    "encode_event",
    "load_pool",
    "parse_pool",
    "pool_to_data",
]
