"""What a collector's heartbeat may truthfully say, from the pool (docs/protocol.md, Bounded
inputs): a heartbeat that lists VMs the pool does not have is dropped after it is decoded. The
size bounds, applied before decoding, are services.common.message_bounds (the collector needs
them too).

Pure: functions of the pool's names.
"""

from __future__ import annotations

from collections.abc import Collection

from schemas.messages import NetworkHeartbeat


def heartbeat_problem(hb: NetworkHeartbeat, vms: Collection[str]) -> str | None:
    """Why this heartbeat cannot be true of the pool (one line), or None."""
    if len(hb.vms) > len(vms):
        return f"lists {len(hb.vms)} VMs; the pool has {len(vms)}"
    unknown = [v for v in hb.vms if v not in vms]
    if unknown:
        return f"lists {len(unknown)} VMs the pool does not have, e.g. {unknown[0][:40]!r}"
    if len(set(hb.vms)) != len(hb.vms):
        return "lists a VM twice"
    return None
