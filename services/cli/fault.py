"""haplan fault: being built (issue 5)."""
