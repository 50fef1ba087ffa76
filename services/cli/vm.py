"""haplan vm: being built (issue 5)."""
