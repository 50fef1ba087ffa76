"""`haplan pool` commands (pending)."""
