"""The operator CLI: `haplan ...`."""
