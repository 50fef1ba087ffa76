"""`haplan plan` commands (pending)."""
