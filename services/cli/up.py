"""haplan up: being built (issue 5)."""
