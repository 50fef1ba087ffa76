"""Finding the `haplan up` of this user: its runtime file (docs/operations.md, last section).

Every command run without --nats and without NATS_URL asks here first, so this stays cheap:
one small file read and a /proc lookup, no NATS. What it finds is the address of up's private
server and who to be there: up's operator user, whose credential file the runtime file names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from services.up.credentials import Credential, read_credential
from services.up.runtime import UpRecord, default_runtime_dir, find_live

NATS_URL_VARIABLES = ("NATS_URL", "HAPLAN_NATS_URL")


@dataclass(frozen=True)
class UpBus:
    """The bus of a live `haplan up`, and the operator's credential for it."""

    nats_url: str
    operator: Credential


def runtime_dir() -> Path:
    return default_runtime_dir()


def live_up() -> UpRecord | None:
    """The `haplan up` running now for this user, or None."""
    return find_live(runtime_dir())


def up_bus() -> UpBus | None:
    """The private NATS of a live `haplan up` and its operator credential, unless the
    environment names a server (an explicit choice always wins over discovery).
    CredentialError when up runs but its operator credential cannot be read."""
    if any(name in os.environ for name in NATS_URL_VARIABLES):
        return None
    record = live_up()
    if record is None:
        return None
    return UpBus(record.nats_url, read_credential(Path(record.operator)))
