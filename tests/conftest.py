"""Shared fixtures of every test layer.

`nats_server`, `nats_cluster`, `nats_client` (tests/fixtures/nats.py) give tests a real
nats-server on loopback; `pytester` lets fixture tests run an inner pytest session.
"""

from __future__ import annotations

from itertools import chain, zip_longest

import pytest
from hypothesis import HealthCheck, settings

# Hypothesis's default per-example deadline (200 ms) and its too-slow health check are timing
# assertions on machine speed: on a busy machine the first example, which pays one-off costs,
# failed them. Property tests assert properties; timing goals live in bench/.
settings.register_profile("haplan", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("haplan")

pytest_plugins = ["pytester", "tests.fixtures.nats"]

# The README's test command runs the suite on several pytest-xdist workers, which take the
# tests one at a time in collection order. The long tests go first, so that no worker starts
# a minute-long test while the others have run dry: the real-fault labs (which mostly wait)
# alternate with the simulator's batches (which compute), then the integration tests, the
# rest of the simulator, and the many short unit tests fill the gaps at the end. The container
# e2e, the longest test by far (image build and two stacks), goes before every other.
_LONGEST = "tests/e2e/containers/"
_LABS = "tests/e2e/"
_BATCHES = "tests/sim/test_invariants_hold.py"
_THEN = ("tests/integration/", "tests/sim/")


def _path(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


def _rank(item: pytest.Item) -> int:
    path = _path(item)
    return next((n for n, prefix in enumerate(_THEN) if path.startswith(prefix)), len(_THEN))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    labs = sorted(
        (item for item in items if _path(item).startswith(_LABS)),
        key=lambda item: not _path(item).startswith(_LONGEST),
    )
    batches = [item for item in items if _path(item) == _BATCHES]
    first = [item for item in chain(*zip_longest(labs, batches)) if item is not None]
    taken = set(first)
    rest = sorted((item for item in items if item not in taken), key=_rank)
    items[:] = first + rest
