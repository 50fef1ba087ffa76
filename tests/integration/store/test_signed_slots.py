"""Signed slot files on a real filesystem (docs/protocol.md, Signed slots): the collector's
key signs what it writes, readers keep the record as written, torn writes still read as
unreadable, and the key file and `haplan host keygen` guard the private key."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from schemas.messages import Beacon
from schemas.slot import Slot
from services.common.heartbeat_store import HeartbeatStore
from services.common.signing import HostKeyError, HostSigner, verified_slot
from services.up.keys import key_path, make_host_keys
from tests.fixtures.events import lab_pool

ROOT = Path(__file__).resolve().parents[3]


def _slot(seq: int = 1, **kw: object) -> Slot:
    beacon = Beacon(leader="arb", term=3, seq=41)
    fields: dict[str, object] = dict(host="lab1", incarnation="boot-1", seq=seq, uptime_s=1.5,
                                     lease_ok=True, store_ok=True, beacon=beacon)  # fmt: skip
    fields.update(kw)
    return Slot.model_validate(fields)


def test_a_signed_slot_reads_back_with_a_record_that_verifies(tmp_path: Path) -> None:
    """What a keyed collector writes, another host reads with its signed record: the record
    verifies against the writer's public key only, and holds the slot, beacon included."""
    signer = HostSigner.generate()
    HeartbeatStore(tmp_path, signer).write(_slot(seq=5, fenced=True))
    read = HeartbeatStore(tmp_path).read("lab1")
    assert read.slot is not None and read.record is not None
    assert verified_slot(signer.public, "lab1", read.record) == read.slot
    assert read.slot.beacon == Beacon(leader="arb", term=3, seq=41)
    assert verified_slot(HostSigner.generate().public, "lab1", read.record) is None
    assert verified_slot(signer.public, "lab2", read.record) is None  # lab1's, not lab2's


def test_an_unsigned_slot_has_no_record_and_a_torn_signed_one_is_unreadable(
    tmp_path: Path,
) -> None:
    """A collector without a key writes the old two-line file (no record); a signed file cut
    short or with its signature changed fails its checksum and is not believed."""
    HeartbeatStore(tmp_path).write(_slot())
    unsigned = HeartbeatStore(tmp_path).read("lab1")
    assert unsigned.slot is not None and unsigned.record is None
    store = HeartbeatStore(tmp_path, HostSigner.generate())
    store.write(_slot(seq=2))
    path = store.slot_path("lab1")
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    assert store.read("lab1").slot is None
    body, sig, digest, _ = raw.split(b"\n")
    path.write_bytes(b"\n".join([body, sig[::-1], digest, b""]))
    torn = store.read("lab1")
    assert torn.slot is None and torn.problem is not None and "checksum" in torn.problem


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    """A saved key loads back as the same key at mode 0600, and is refused once group or
    others may read it; a file that is no key is refused in one line."""
    signer = HostSigner.generate()
    path = tmp_path / "host.key"
    signer.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert HostSigner.load(path).public == signer.public
    os.chmod(path, 0o640)
    with pytest.raises(HostKeyError, match="chmod 600"):
        HostSigner.load(path)
    junk = tmp_path / "junk.key"
    junk.write_text("not a key\n")
    junk.chmod(0o600)
    with pytest.raises(HostKeyError, match="not a PEM private key"):
        HostSigner.load(junk)


def test_keygen_writes_a_private_key_and_prints_the_public_one(tmp_path: Path) -> None:
    """`haplan host keygen lab1 --out FILE --json` writes a 0600 key whose public key it
    prints; run again on the same file it refuses in one line, exit 2, the key untouched."""
    out = tmp_path / "lab1.key"
    cmd = [sys.executable, "-m", "services.cli.main", "host", "keygen", "lab1", "--out", str(out)]
    done = subprocess.run([*cmd, "--json"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f'"key": "{HostSigner.load(out).public}"' in done.stdout
    before = out.read_bytes()
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert again.returncode == 2 and len(again.stderr.strip().splitlines()) == 1
    assert "exists" in again.stderr and out.read_bytes() == before


def test_haplan_up_makes_one_private_key_per_host_and_registers_them(tmp_path: Path) -> None:
    """`haplan up`'s keys: a 0700 directory, one 0600 key per host, each host's public key in
    the pool it loads (replacing any the pool file had)."""
    pool = make_host_keys(tmp_path, lab_pool())
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    for host in pool.hosts:
        path = key_path(tmp_path, host.name)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert HostSigner.load(path).public == host.key
    assert {h.key for h in pool.hosts} & {h.key for h in lab_pool().hosts} == set()
