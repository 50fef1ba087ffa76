"""Public data contracts of haplan: the pool description and the events of the log.

The names below are loaded from their submodule on first use (PEP 562), not when `schemas` is
imported: importing the package is what `from schemas.ops import ...` does too, and building
the ~60 event models would cost every CLI start a few tenths of a CPU second (issue 15).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from schemas.lazy_names import lazy_names

if TYPE_CHECKING:
    from schemas.events import Event, EventBase, EventDecodeError, decode_event, encode_event
    from schemas.pool import (
        BEST_EFFORT,
        RESTART,
        UNPROTECTED,
        VM,
        HAConfig,
        Host,
        Pool,
        Priority,
    )
    from schemas.pool_error import PoolError
    from schemas.pool_file import dump_pool, load_pool, parse_pool, pool_to_data

_HOME = {
    **dict.fromkeys(
        ("Event", "EventBase", "EventDecodeError", "decode_event", "encode_event"),
        "schemas.events",
    ),
    **dict.fromkeys(
        ("BEST_EFFORT", "RESTART", "UNPROTECTED", "VM", "HAConfig", "Host", "Pool", "Priority"),
        "schemas.pool",
    ),
    "PoolError": "schemas.pool_error",
    **dict.fromkeys(
        ("dump_pool", "load_pool", "parse_pool", "pool_to_data"),
        "schemas.pool_file",
    ),
}


__getattr__ = lazy_names("schemas", _HOME, globals())


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
