"""Shared fixtures of every test layer.

`nats_server`, `nats_cluster`, `nats_client` (tests/fixtures/nats.py) give tests a real
nats-server on loopback; `pytester` lets fixture tests run an inner pytest session.
"""

pytest_plugins = ["pytester", "tests.fixtures.nats"]
