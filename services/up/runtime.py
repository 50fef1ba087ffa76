"""The runtime file of `haplan up` (docs/operations.md, last section), and who owns it.

`up.json` in the runtime directory says how to reach a running `haplan up`: its pid (with the
process's start time, so that a pid the kernel gave to an unrelated process later is not taken
for it), its private NATS URL and the operator's credential file for it, its control socket
and each host's fault controls. Commands
started later by the same user read it to find the system with no flag and no environment
variable; `haplan up` itself reads it to refuse a second instance and to take over a stale one.

Stdlib only: every `haplan` command without --nats and NATS_URL reads this file at start.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RUNTIME_FILE = "up.json"
FORMAT = 2  # 2: the operator credential (the server has users since)

# What a start-time probe says of a pid: None (no such process), UNKNOWN (it runs, but its
# start time cannot be read), or the start time.
StartTimeOf = Callable[[int], str | None]
UNKNOWN = ""


class RuntimeFileError(ValueError):
    """The runtime file exists but is not one `haplan up` wrote (torn, foreign, older)."""


def runtime_dir(env: Mapping[str, str], uid: int) -> Path:
    """`$XDG_RUNTIME_DIR/haplan` (per-user, cleared at logout), else `/tmp/haplan-<uid>`."""
    xdg = env.get("XDG_RUNTIME_DIR", "").strip()
    return Path(xdg) / "haplan" if xdg else Path(f"/tmp/haplan-{uid}")


def default_runtime_dir() -> Path:
    return runtime_dir(os.environ, os.getuid())


@dataclass(frozen=True)
class HostControls:
    """Where one host's cables are: its store path (a symlink `haplan fault storage` swaps),
    the address of its NATS proxy (the network cable) and its collector's log."""

    store: str
    proxy: str
    log: str


@dataclass(frozen=True)
class UpRecord:
    pid: int
    started: str | None  # the pid's start time (/proc/PID/stat field 22), None if unknown
    nats_url: str
    operator: str  # the operator's credential file (services.up.credentials)
    control: str  # the unix socket `haplan fault` talks to
    pool: str
    timeout_s: float
    logs: str
    run: str  # the scope every process of this run carries (services.up.procs)
    hosts: dict[str, HostControls] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, **asdict(self)}, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> UpRecord:
        try:
            raw: Any = json.loads(text)
            if not isinstance(raw, dict) or raw.get("format") != FORMAT:
                raise RuntimeFileError("not a runtime file of this haplan version")
            hosts = {str(h): HostControls(**c) for h, c in raw["hosts"].items()}
            return cls(
                pid=int(raw["pid"]),
                started=None if raw["started"] is None else str(raw["started"]),
                nats_url=str(raw["nats_url"]),
                operator=str(raw["operator"]),
                control=str(raw["control"]),
                pool=str(raw["pool"]),
                timeout_s=float(raw["timeout_s"]),
                logs=str(raw["logs"]),
                run=str(raw["run"]),
                hosts=hosts,
            )
        except RuntimeFileError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise RuntimeFileError(f"unreadable runtime file: {exc}") from None


def is_live(record: UpRecord, start_time_of: StartTimeOf) -> bool:
    """The process that wrote `record` still runs: its pid exists and, when the record knows
    the start time, started then (a reused pid is someone else)."""
    now = start_time_of(record.pid)
    if now is None:
        return False
    return record.started is None or now == UNKNOWN or record.started == now


def proc_start_time(pid: int) -> str | None:
    """The start time of `pid` in clock ticks since boot; None when no such process runs (a
    zombie no longer runs). Without /proc, existence alone (kill 0) is all we can tell."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        return None
    except OSError:
        return _exists(pid)
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        return None
    return fields[19]


def _exists(pid: int) -> str | None:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return UNKNOWN  # runs, as another user
    return UNKNOWN


def read_record(directory: Path) -> UpRecord | None:
    """The runtime file in `directory`; None when there is none; RuntimeFileError if torn."""
    try:
        text = (directory / RUNTIME_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RuntimeFileError(f"cannot read the runtime file: {exc.strerror}") from None
    return UpRecord.from_json(text)


def find_live(directory: Path, start_time_of: StartTimeOf = proc_start_time) -> UpRecord | None:
    """The record of the `haplan up` running now, or None (no file, a torn one, or a stale
    one left by a process that died)."""
    try:
        record = read_record(directory)
    except RuntimeFileError:
        return None
    if record is None or not is_live(record, start_time_of):
        return None
    return record


def write_record(directory: Path, record: UpRecord) -> Path:
    """Write atomically: a reader sees the old file or the new one, never half of it."""
    path = directory / RUNTIME_FILE
    tmp = directory / f".{RUNTIME_FILE}.{os.getpid()}.tmp"
    tmp.write_text(record.to_json(), encoding="utf-8")
    os.replace(tmp, path)
    return path
