"""Reading and writing pool files (YAML or JSON, same keys), with one-line errors.

Parsing is pure (`parse_pool` takes text); only `load_pool` touches the filesystem.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from schemas.fencing import FencingAgent
from schemas.pool import VM, HAConfig, Host, Pool, check_bounds
from schemas.pool_error import PoolError

__all__ = ["PoolError", "dump_pool", "load_pool", "parse_pool", "pool_to_data"]


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys: a repeated key is a typo, never intent."""


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if not isinstance(key, Hashable):
            # construct_mapping reports an unhashable key as a YAML error of its own.
            continue
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates
)


class _DuplicateJSONKey(ValueError):
    pass


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json.loads keeps the last of repeated keys silently; a repeated key is a typo."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateJSONKey(f"duplicate key {key!r}")
        out[key] = value
    return out


def parse_pool(text: str, source: str = "pool") -> Pool:
    """Parse and validate a pool description; raise PoolError with a one-line message."""
    try:
        data = (
            json.loads(text, object_pairs_hook=_json_object)
            if source.endswith(".json")
            else yaml.load(text, _StrictLoader)
        )
    except json.JSONDecodeError as exc:
        raise PoolError(
            f"{source}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except _DuplicateJSONKey as exc:
        raise PoolError(f"{source}: not valid JSON: {exc}") from None
    except yaml.YAMLError as exc:
        raise PoolError(f"{source}: not valid YAML: {_yaml_problem(exc)}") from None
    if not isinstance(data, dict):
        raise PoolError(f"{source}: a pool file must be a mapping with name, hosts and vms")
    try:
        pool = Pool.model_validate(data)
    except ValidationError as exc:
        raise PoolError(f"{source}: {_first_error(exc, data)}") from None
    try:
        check_bounds(pool)
    except ValueError as exc:
        raise PoolError(f"{source}: {exc}") from None
    return pool


def load_pool(path: str | Path) -> Pool:
    """Read a pool file from disk; raise PoolError (one line) if it is missing or invalid."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise PoolError(f"{p}: cannot read the pool file: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise PoolError(
            f"{p}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})"
        ) from None
    return parse_pool(text, str(p))


def pool_to_data(pool: Pool) -> dict[str, Any]:
    """The pool as plain data in file form: defaults left out so exports stay readable."""
    data = pool.model_dump(mode="json", exclude_defaults=True)
    data.setdefault("vms", [])
    return data


def dump_pool(pool: Pool, fmt: str = "yaml") -> str:
    data = pool_to_data(pool)
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    # libyaml's emitter when PyYAML has it: the same text, four times faster (a 10,000-VM
    # export took 13 s with the pure-Python one).
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{problem}{where}"


# The model each place of a pool file is read into (list indexes left out of the place): where
# an unknown key's likely meaning is looked up.
_MODELS: dict[tuple[str, ...], type[BaseModel]] = {
    (): Pool, ("ha",): HAConfig, ("hosts",): Host, ("vms",): VM,
    ("hosts", "fencing"): FencingAgent,
}  # fmt: skip


def _first_error(exc: ValidationError, data: dict[str, Any]) -> str:
    errors = exc.errors(include_url=False)
    # An unknown key is reported first: a typo'd key also makes the key it meant "missing",
    # and "required key is missing" would send the operator looking for the wrong problem.
    unknown = [e for e in errors if e["type"] == "extra_forbidden"]
    err = unknown[0] if unknown else errors[0]
    where = _describe_location(err["loc"], data)
    if err["type"] == "extra_forbidden":
        key = err["loc"][-1]
        parent = _describe_location(err["loc"][:-1], data)
        return f"{parent + ': ' if parent else ''}unknown key {key!r}{_did_you_mean(err['loc'])}"
    if err["type"] == "missing":
        return f"{where}: required key is missing"
    # pydantic's wording names Python types; a pool file has lists and mappings.
    if err["type"] == "tuple_type":
        return f"{where}: must be a list"
    if err["type"] == "model_type":
        return f"{where}: must be a mapping of keys to values"
    if err["type"] == "too_short" and err["loc"] == ("hosts",):
        return "hosts: a pool needs at least one host"
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"{where}: {msg}" if where else msg


def _did_you_mean(loc: tuple[int | str, ...]) -> str:
    """` (did you mean 'memory_mib'?)` for an unknown key close to a key of its place."""
    model = _MODELS.get(tuple(str(step) for step in loc[:-1] if not isinstance(step, int)))
    if model is None:
        return ""
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _describe_location(loc: tuple[int | str, ...], data: Any) -> str:
    """Render a pydantic location as `vms[2] 'Minion 1'.memory_mib`, naming list items."""
    parts: list[str] = []
    node = data
    for step in loc:
        if isinstance(step, int):
            label = f"[{step}]"
            item = node[step] if isinstance(node, list) and step < len(node) else None
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                label += f" {item['name']!r}"
            parts.append(label)
            node = item
        else:
            parts.append(("." if parts else "") + step)
            node = node.get(step) if isinstance(node, dict) else None
    return "".join(parts)
