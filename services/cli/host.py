"""haplan host: being built (issue 5)."""
