"""haplan status: being built (issue 5)."""
