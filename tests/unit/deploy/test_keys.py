"""`haplan deploy keys` (services/deploy/keys.py): the compose stack's one-shot key maker."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

from schemas import load_pool
from services.common.signing import HostSigner
from services.deploy.keys import KeySetupError, ensure_host_keys, parse_owner
from tests.integration.deploy.compose import ROOT

POOL = ROOT / "deploy" / "pool.yaml"


def test_a_key_per_named_host_private_and_registered(tmp_path: Path) -> None:
    """Each named host gets DIR/host.key, mode 0600, in a 0700 directory; the pool registers
    exactly the public key of that file; a host not named keeps what the pool says (none)."""
    pool = load_pool(POOL)
    dirs = {"lab1": tmp_path / "lab1", "lab2": tmp_path / "lab2"}
    keyed, outcomes = ensure_host_keys(pool, dirs)
    by_name = {h.name: h.key for h in keyed.hosts}
    assert by_name["lab3"] is None
    for host, directory in dirs.items():
        path = directory / "host.key"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        assert by_name[host] == HostSigner.load(path).public
    assert all(o.made for o in outcomes)


def test_a_second_run_keeps_every_key(tmp_path: Path) -> None:
    """Run again (the service on the next `compose up`), the keys and the pool it writes are
    the same: the pool was loaded once with them, a new key would be refused by the
    collector."""
    pool = load_pool(POOL)
    dirs = {h: tmp_path / h for h in ("lab1", "lab2", "lab3")}
    first, _ = ensure_host_keys(pool, dirs)
    second, outcomes = ensure_host_keys(pool, dirs)
    assert first == second
    assert not any(o.made for o in outcomes)


def test_refused_unknown_host_other_key_and_readable_key(tmp_path: Path) -> None:
    """A host the pool lacks, a pool that registers another key than the file holds, and a key
    file others may read are each one clear error."""
    pool = load_pool(POOL)
    with pytest.raises(KeySetupError, match="'lab9' is not a host"):
        ensure_host_keys(pool, {"lab9": tmp_path / "lab9"})
    data = yaml.safe_load(POOL.read_text())
    data["hosts"][0]["key"] = HostSigner.generate().public
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump(data))
    with pytest.raises(KeySetupError, match="another key for lab1"):
        ensure_host_keys(load_pool(other), {"lab1": tmp_path / "lab1"})
    (tmp_path / "lab1" / "host.key").chmod(0o644)
    with pytest.raises(KeySetupError, match="readable by others"):
        ensure_host_keys(pool, {"lab1": tmp_path / "lab1"})


def test_owner_spellings() -> None:
    """`UID:GID`, or `UID` alone for both; anything else is an error."""
    assert parse_owner("10001:10002") == (10001, 10002)
    assert parse_owner("10001") == (10001, 10001)
    with pytest.raises(KeySetupError):
        parse_owner("haplan")
