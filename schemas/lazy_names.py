"""Package names loaded from their submodule on first use (PEP 562).

A package that re-exports its public names this way costs nothing to import until a name is
read: `haplan`'s commands start without building what they never use (issue 15).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_names(
    package: str, home: Mapping[str, str], namespace: dict[str, Any]
) -> Callable[[str], object]:
    """The package's module-level `__getattr__`: `home` maps each public name to the submodule
    that defines it; a name read once is kept in `namespace`, so later reads skip this."""

    def __getattr__(name: str) -> object:
        module = home.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    return __getattr__
