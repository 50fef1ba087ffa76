"""The arbiter: leader election, liveness decisions, restart orchestration."""
