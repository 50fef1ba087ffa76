"""xe-style `KEY=VALUE` parameters of `haplan pool set` and `haplan vm set`, read into the
operator requests of schemas/ops.py (pure: no bus, no output).

The keys are xe's own (`xe pool-param-set ha-host-failures-to-tolerate=1`, `xe vm-param-set
ha-restart-priority=restart order=2 start-delay=10`), so that a XenServer operator's muscle
memory works. Every mistake is a UserError (one line, exit 2) raised before anything is sent.
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from schemas.limits import ORDER_MAX, START_DELAY_MAX_S
from schemas.ops import PoolSet, VMSet
from services.cli.output import UserError

Parse = Callable[[str, str], Any]  # (key, raw value) -> value, or UserError
M = TypeVar("M", bound=BaseModel)

_WHOLE = re.compile(r"[0-9]+")
PRIORITIES = ("restart", "best-effort", "")


def _bad(key: str, value: str, wanted: str) -> UserError:
    return UserError(f"{key}={value} is not valid: {key} must be {wanted}")


def whole(key: str, value: str) -> int:
    if not _WHOLE.fullmatch(value.strip()):
        raise _bad(key, value, "a whole number, 0 or more")
    return int(value)


def order(key: str, value: str) -> int:
    # The bound is checked here, in the operator's words: the request model's refusal would
    # name its field (order, start_delay_s) in pydantic's, not the key the operator typed.
    number = whole(key, value)
    if number > ORDER_MAX:
        raise _bad(key, value, f"a whole number from 0 to {ORDER_MAX}")
    return number


def boolean(key: str, value: str) -> bool:
    word = value.strip().lower()
    if word not in ("true", "false"):
        raise _bad(key, value, "true or false")
    return word == "true"


def seconds(key: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise _bad(key, value, "a number of seconds, 0 or more") from None
    if not math.isfinite(number) or number < 0:
        raise _bad(key, value, "a number of seconds, 0 or more")
    if number > START_DELAY_MAX_S:
        raise _bad(key, value, f"a number of seconds from 0 to {START_DELAY_MAX_S:g}")
    return number


def priority(key: str, value: str) -> str:
    # xe takes `ha-restart-priority=` for unprotected; quotes that reach us literally (a
    # script quoting twice) mean the same.
    if value in ('""', "''"):
        return ""
    if value not in PRIORITIES:
        raise _bad(key, value, f'restart, best-effort or empty ({key}= or {key}="")')
    return value


# xe key -> (request field, parser)
POOL_KEYS: Mapping[str, tuple[str, Parse]] = {
    "ha-host-failures-to-tolerate": ("host_failures_to_tolerate", whole),
    "ha-allow-overcommit": ("allow_overcommit", boolean),
}
VM_KEYS: Mapping[str, tuple[str, Parse]] = {
    "ha-restart-priority": ("ha_restart_priority", priority),
    "order": ("order", order),
    "start-delay": ("start_delay_s", seconds),
}


def parse_pairs(
    pairs: Sequence[str], keys: Mapping[str, tuple[str, Parse]], example: str
) -> dict[str, Any]:
    """The request fields `pairs` set; `example` is a correct command line for the hints."""
    known = ", ".join(keys)
    if not pairs:
        raise UserError("no parameter to set", f"give KEY=VALUE, e.g. `{example}` (keys: {known})")
    fields: dict[str, Any] = {}
    seen: set[str] = set()
    for pair in pairs:
        key, eq, value = pair.partition("=")
        key = key.strip()
        if not eq:
            raise UserError(f"{pair!r} is not KEY=VALUE", f"e.g. `{example}`")
        if key not in keys:
            raise UserError(f"unknown parameter {key!r}", f"the parameters are: {known}")
        if key in seen:
            raise UserError(f"{key} is given twice", "give each parameter once")
        seen.add(key)
        field, parse = keys[key]
        fields[field] = parse(key, value)
    return fields


def build(model: type[M], **fields: Any) -> M:
    """`model` from fields; what it refuses is a one-line UserError, not a traceback."""
    try:
        return model(**fields)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        # Named as the operator typed it (start-delay), not as the request calls it.
        typed = {field: key for key, (field, _) in (*POOL_KEYS.items(), *VM_KEYS.items())}
        where = ".".join(typed.get(str(p), str(p)) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise UserError(f"{where}: {msg}" if where else msg) from None


def pool_set_request(pairs: Sequence[str]) -> PoolSet:
    fields = parse_pairs(pairs, POOL_KEYS, "haplan pool set ha-host-failures-to-tolerate=1")
    return build(PoolSet, **fields)


def vm_set_request(vm: str, pairs: Sequence[str]) -> VMSet:
    fields = parse_pairs(
        pairs, VM_KEYS, f"haplan vm set {shlex.quote(vm)} ha-restart-priority=restart"
    )
    return build(VMSet, vm=named("VM", vm), **fields)


def named(what: str, name: str) -> str:
    """A host or VM name from the command line: an empty one is refused before sending."""
    if not name.strip():
        raise UserError(f"the {what} name is empty", f"name a {what} of the pool")
    return name
