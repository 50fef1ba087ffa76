"""Finding the `haplan up` of this user: its runtime file (docs/operations.md, last section).

Every command run without --nats and without NATS_URL asks here first, so this stays cheap:
one small file read and a /proc lookup, no NATS.
"""

from __future__ import annotations

import os
from pathlib import Path

from services.up.runtime import UpRecord, default_runtime_dir, find_live

NATS_URL_VARIABLES = ("NATS_URL", "HAPLAN_NATS_URL")


def runtime_dir() -> Path:
    return default_runtime_dir()


def live_up() -> UpRecord | None:
    """The `haplan up` running now for this user, or None."""
    return find_live(runtime_dir())


def up_nats_url() -> str | None:
    """The private NATS of a live `haplan up`, unless the environment names a server (an
    explicit choice always wins over discovery)."""
    if any(name in os.environ for name in NATS_URL_VARIABLES):
        return None
    record = live_up()
    return record.nats_url if record is not None else None
