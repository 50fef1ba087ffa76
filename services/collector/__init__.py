"""The collector: one per host; heartbeats, lease, heartbeat store, self-fencing."""
