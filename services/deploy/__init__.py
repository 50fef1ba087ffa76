"""Deployment helpers: the NATS permission model of haplan's roles, rendered as nats-server
configuration (deploy/nats/auth.conf), and the container healthcheck."""
