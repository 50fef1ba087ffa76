"""A collector signs with the key the pool registers for its host, or does not start
(docs/protocol.md, Signed slots): slots signed with another key would read as forgeries."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.events import PoolCreated
from services.collector.options import CollectorOptions
from services.collector.service import ConfigError, _check_key
from services.common.signing import HostSigner
from services.state import PoolState, fold
from tests.fixtures.events import LAB_SIGNERS, lab_pool, make


def _state(keyed: bool = True) -> PoolState:
    pool = lab_pool()
    if not keyed:
        pool = pool.model_copy(
            update={"hosts": tuple(h.model_copy(update={"key": None}) for h in pool.hosts)}
        )
    return fold([make(PoolCreated, epoch=0, pool=pool)])


def _options(signer: HostSigner | None) -> CollectorOptions:
    return CollectorOptions(host="lab1", store=Path("/nonexistent"), signer=signer)


def test_the_registered_key_starts_and_any_other_refuses() -> None:
    """lab1's own key passes; lab2's key, or none at all, is a one-line ConfigError naming the
    way out."""
    _check_key(_options(LAB_SIGNERS["lab1"]), _state())
    with pytest.raises(ConfigError, match=r"not host 'lab1'.s registered key"):
        _check_key(_options(LAB_SIGNERS["lab2"]), _state())
    with pytest.raises(ConfigError, match="--key FILE"):
        _check_key(_options(None), _state())


def test_a_pool_without_keys_takes_a_keyed_or_unkeyed_collector() -> None:
    """No key registered: the collector starts either way (its slot marks are then never
    acted on, its own bus notice and the timeout path still are)."""
    _check_key(_options(None), _state(keyed=False))
    _check_key(_options(LAB_SIGNERS["lab1"]), _state(keyed=False))
