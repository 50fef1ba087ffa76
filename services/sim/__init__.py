"""Deterministic fault simulator driving the pure collector and arbiter cores."""
