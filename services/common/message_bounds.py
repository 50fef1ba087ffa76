"""How large a collector's message may be, from the pool (docs/protocol.md, Bounded inputs).

The arbiter's cost per message grows with its size (a 1 MB heartbeat took about 50 ms to read),
and what a host may truthfully say is bounded by the pool: a heartbeat lists at most the pool's
VMs, an observation at most a reading per remembered incarnation of each host, each with the
signed slot record it forwards (docs/protocol.md, Signed slots). A message larger than its
bound is dropped before it is decoded. Both sides need the bounds (the arbiter drops, the
collector sizes its subscriptions to its peers' heartbeats), so they live here, not in the
arbiter: the collector imports no arbiter module.

Pure: functions of the pool's names.
"""

from __future__ import annotations

from collections.abc import Collection

from services.common.slot_bounds import REMEMBERED_INCARNATIONS, escaped, record_limit

# Fields besides the names (host, incarnation, seq, flags, an echoed beacon), generously.
_HEARTBEAT_BASE = 2048
# Other inputs (observations, reports, joins, notices) carry per-host readings and per-VM
# entries (a report repeats each VM's exits for about T): generous room for each.
_OTHER_BASE = 16 * 1024
_PER_HOST = 1024
_PER_VM = 4096


def heartbeat_limit(hosts: Collection[str], vms: Collection[str]) -> int:
    """The largest heartbeat a host of this pool can send: every VM of the pool listed."""
    longest_host = max((escaped(h) for h in hosts), default=0)
    return _HEARTBEAT_BASE + longest_host + sum(escaped(v) + 3 for v in vms)


def _readings_limit(host: str) -> int:
    # Each remembered incarnation's reading forwards a record, which JSON escapes once more
    # inside the observation (a quote or backslash of the body becomes two bytes).
    return REMEMBERED_INCARNATIONS * (2 * record_limit(host) + escaped(host))


def input_limit(hosts: Collection[str], vms: Collection[str]) -> int:
    """The largest observation, report, join request or fenced notice of this pool."""
    names = sum(escaped(n) for n in (*hosts, *vms))
    readings = sum(_readings_limit(h) for h in hosts)
    return _OTHER_BASE + _PER_HOST * len(hosts) + _PER_VM * len(vms) + 4 * names + readings
