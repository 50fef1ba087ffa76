"""Imports every command module so that its commands are attached to the app.

Each area of the CLI lives in its own module; add new areas here.
"""

from __future__ import annotations

from services.cli import (  # noqa: F401
    arbiter,
    audit,
    collector,
    deploy,
    events,
    fault,
    host,
    host_keys,
    plan,
    planner,
    pool,
    sim,
    status,
    up,
    version,
    vm,
)
