"""Sane ranges for what an operator may write in a pool file or `haplan vm set` (docs/operations.md,
Bounded input). A value outside them is refused with one line, before it reaches the log.

- order 0..1000: orders are restart waves, run one after the other; a pool holds at most a few
  thousand VMs, so more than a thousand distinct waves is a typo (a timestamp, a memory size).
- start delay 0..3600 s: the wait before the next wave starts. Every later wave of protected
  VMs stays down that long after a host failure; more than an hour is a unit mistake
  (milliseconds written as seconds), never a restart plan.
- memory 1 MiB .. 2^30 MiB (1 PiB) per host, VM, overhead or reservation: the planner's solver
  (OR-Tools) works in 64-bit integers and sums memory over every VM of the pool and weighs it;
  a petabyte per item leaves that room, and no host has more.
- names: a host or VM name becomes a file name on the hosts (a VM's disk log `<vm>.log` under
  the process driver, a host's heartbeat slot `<quoted host>.slot` and its temporary file while
  it is written, `haplan up`'s per-member log). A file name holds at most 255 bytes on the file
  systems hosts use (ext4, XFS, NFS), so a name is refused when one of its files' names would
  be longer. A VM name must also be a file name at all: no `/`, no NUL, not `.` or `..`.

Pure functions of the name: the file names are those the services derive (tests check them
against services.common.heartbeat_store and services.drivers.vm_process).
"""

from __future__ import annotations

from urllib.parse import quote

ORDER_MAX = 1000
START_DELAY_MAX_S = 3600.0
MEMORY_MAX_MIB = 1 << 30
# libvirt's own bound on a domain's vCPUs is lower on every hypervisor haplan drives.
VCPUS_MAX = 4096
FILE_NAME_MAX_BYTES = 255
# VMs the arbiter orders and has not yet seen reported, pool-wide (services.arbiter.orchestrate):
# a 64-host pool restarts 2 per host at a time. `haplan arbiter --max-restarts-in-flight`
# takes MAX_IN_FLIGHT_RANGE.
DEFAULT_MAX_IN_FLIGHT = 128
MAX_IN_FLIGHT_RANGE = (1, 100_000)

# A collector incarnation is a UUID (36 characters); its slot's temporary file carries it.
_INCARNATION_LEN = 36
# The suffixes of a host's slot and a VM's disk log: the services name their files with these
# (services.common.heartbeat_store, services.drivers.vm_process), so the bound follows them.
SLOT_SUFFIX = ".slot"
DISK_LOG_SUFFIX = ".log"


def slot_temp_name(slot_name: str, incarnation: str) -> str:
    """The temporary file a slot is written to before it is renamed over `slot_name`: hidden
    (a leading dot, so readers listing slots skip it) and per incarnation (two collectors of one
    host never share it)."""
    return f".{slot_name}.{incarnation}.tmp"


def host_file_names(host: str) -> tuple[str, ...]:
    """The file names a host's name becomes: its slot, the slot's temporary file (with the
    longest incarnation), and `haplan up`'s collector log."""
    quoted = quote(host, safe="")
    slot = quoted + SLOT_SUFFIX
    return (
        slot,
        slot_temp_name(slot, "x" * _INCARNATION_LEN),
        quote(f"collector-{host}", safe="") + ".log",
    )


def vm_file_names(vm: str) -> tuple[str, ...]:
    """The file names a VM's name becomes: its disk log under the process driver."""
    return (vm + DISK_LOG_SUFFIX,)


def name_problem(kind: str, name: str) -> str | None:
    """Why `name` (a "host" or "VM" name) cannot be used, in one line; None when it can."""
    if kind == "VM" and ("/" in name or "\0" in name or name in (".", "..")):
        return f"VM name {name!r} cannot name a disk file (no '/', no NUL, not '.' or '..')"
    if kind == "host" and "\0" in name:
        return f"host name {name!r} holds a NUL character"
    files = host_file_names(name) if kind == "host" else vm_file_names(name)
    longest = max(len(f.encode("utf-8")) for f in files)
    if longest > FILE_NAME_MAX_BYTES:
        return (
            f"{kind} name {_short(name)} is too long: it makes a {longest}-byte file name on "
            f"the hosts, and a file name holds at most {FILE_NAME_MAX_BYTES} bytes"
        )
    return None


def _short(name: str) -> str:
    """The name as an error message quotes it: a long one cut, so the line stays short."""
    return repr(name) if len(name) <= 40 else repr(name[:40]) + f"... ({len(name)} characters)"
