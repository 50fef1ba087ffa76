"""The collector runs on every host without the arbiter's code: no module of
services.collector imports a module of services.arbiter (the bounds both need live in
services.common.message_bounds)."""

from __future__ import annotations

import subprocess
import sys

_PROBE = """
import importlib, pkgutil, sys
import services.collector as collector
for module in pkgutil.iter_modules(collector.__path__):
    importlib.import_module("services.collector." + module.name)
print(" ".join(sorted(m for m in sys.modules if m.startswith("services.arbiter"))))
"""


def test_no_collector_module_imports_an_arbiter_module() -> None:
    """Import every services.collector module in a fresh interpreter: no services.arbiter
    module is loaded."""
    probe = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                           timeout=120, check=True)  # fmt: skip
    assert probe.stdout.split() == [], probe.stdout
