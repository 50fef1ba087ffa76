"""`haplan events` commands (pending)."""
