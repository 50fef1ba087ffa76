"""The QEMU process behind a libvirt domain, for the watchdog to kill if the collector hangs.

libvirt's API does not give the pid; its QEMU driver writes one file per running domain:
`/run/libvirt/qemu/NAME.pid` for `qemu:///system`, `ROOT/run/qemu/NAME.pid` for the embedded
driver `qemu:///embed?root=ROOT`. Other URIs (remote hosts, the test driver): None, and the
watchdog backstop is then libvirt's own (or the device watchdog's host reset).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

_SYSTEM_RUN = Path("/run/libvirt/qemu")


def pid_dir(uri: str) -> Path | None:
    parts = urlsplit(uri)
    if parts.scheme != "qemu" or parts.netloc:
        return None
    if parts.path == "/system":
        return _SYSTEM_RUN
    if parts.path == "/embed":
        roots = parse_qs(parts.query).get("root")
        return Path(roots[0]) / "run" / "qemu" if roots else None
    return None


def qemu_pid(uri: str, domain: str) -> int | None:
    where = pid_dir(uri)
    if where is None:
        return None
    try:
        return int((where / f"{domain}.pid").read_text().strip())
    except (OSError, ValueError):
        return None
