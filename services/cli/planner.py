"""haplan planner: being built (issue 5)."""
