"""The KV bucket `ha_leases` both sides use: its name, its configuration, and the key of a
host's lease. Collectors write `host.<host token>` (services.collector.lease), the arbiter
reads and revokes them and keeps its own leader lease there (services.arbiter.leases); this
module is what they share, so neither reaches into the other's package (issue 21).
"""

from __future__ import annotations

import math

from nats.js.api import KeyValueConfig

from services.common.subjects import encode_token
from services.common.timers import Timers

LEASE_BUCKET = "ha_leases"
LEASE_STREAM = f"KV_{LEASE_BUCKET}"
HOST_PREFIX = "host."


def host_lease_key(host: str) -> str:
    """The key of `host`'s lease in the bucket."""
    return HOST_PREFIX + encode_token(host)


def lease_bucket_config(timers: Timers, replicas: int = 1) -> KeyValueConfig:
    """Replicated like the event log (3 on a cluster): a renewal then needs the quorum."""
    # Markers need a whole number of seconds; at least one.
    ttl = float(max(1, math.ceil(timers.timeout_s)))
    return KeyValueConfig(
        bucket=LEASE_BUCKET,
        description="haplan leases: host.<host> (collectors), arbiter (the leader)",
        history=1,
        ttl=ttl,
        limit_marker_ttl=ttl,
        replicas=replicas,
    )
