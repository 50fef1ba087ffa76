"""Shared shell plumbing: bus, store, settings, logging."""
