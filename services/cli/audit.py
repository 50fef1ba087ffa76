"""`haplan audit` commands (pending)."""
