"""The compose topology as processes, started once for the deploy tests (the slow part: three
NATS nodes and seven services), always stopped and cleaned up."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.deploy.stack import Stack, compose_stack

LIVE_TIMEOUT_S = 60.0


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with compose_stack(tmp_path_factory.mktemp("compose")) as running:
        running.wait_live(hosts=3, timeout=LIVE_TIMEOUT_S)
        yield running
