"""A `haplan up` per test (tests/integration/up/harness.py), stopped and swept after it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.up.harness import Up


@pytest.fixture
def up() -> Iterator[Up]:
    """`haplan up --timeout 3 --json-log` on the lab pool, in a private runtime directory."""
    running = Up()
    try:
        yield running
    finally:
        running.close()
