"""`haplan sim` commands (pending)."""
