"""The heartbeat store on a real filesystem: atomic slots, checksums, unreadable slots."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from schemas.limits import host_file_names
from schemas.slot import Slot
from services.common.heartbeat_store import HeartbeatStore, decode_slot, encode_slot


def _slot(host: str = "lab1", seq: int = 1, **kw: object) -> Slot:
    fields: dict[str, object] = dict(
        host=host, incarnation="boot-1", seq=seq, uptime_s=1.5, lease_ok=True, store_ok=True
    )
    fields.update(kw)
    return Slot.model_validate(fields)


def test_written_slots_are_read_by_every_host(tmp_path: Path) -> None:
    """A slot written by one host is read back, with its fields, by any reader of the store."""
    store = HeartbeatStore(tmp_path)
    store.write(_slot("lab1", seq=7, fenced=True))
    store.write(_slot("Host with/odd name", seq=2))
    reads = HeartbeatStore(tmp_path).read_all(("lab1", "lab2", "Host with/odd name"))
    assert set(reads) == {"lab1", "Host with/odd name"}
    lab1 = reads["lab1"].slot
    assert lab1 is not None and lab1.seq == 7 and lab1.fenced


def test_rewrite_replaces_the_slot_without_leftovers(tmp_path: Path) -> None:
    """Each write replaces the slot atomically; no temporary file is left behind."""
    store = HeartbeatStore(tmp_path)
    for seq in range(5):
        store.write(_slot(seq=seq))
    assert [p.name for p in (tmp_path / "ha").iterdir()] == ["lab1.slot"]
    read = store.read("lab1").slot
    assert read is not None and read.seq == 4


def test_the_store_writes_the_files_the_name_bound_is_judged_on(tmp_path: Path) -> None:
    """The slot and its temporary file are named as schemas.limits says (the bound on host names
    is computed from those names): a rename that fails (the slot's name is taken by a directory)
    leaves the temporary file behind under the name limits gave for the longest incarnation,
    and the slot, once written, is found by read_all under its host's name."""
    host, incarnation = "rack 1/lab%1", "x" * 36
    slot_name, temp_name, _ = host_file_names(host)
    store = HeartbeatStore(tmp_path)
    (tmp_path / "ha" / slot_name).mkdir(parents=True)
    with pytest.raises(OSError):
        store.write(_slot(host, incarnation=incarnation))
    assert sorted(p.name for p in (tmp_path / "ha").iterdir()) == sorted([slot_name, temp_name])
    (tmp_path / "ha" / slot_name).rmdir()
    store.write(_slot(host, incarnation=incarnation))
    assert set(store.read_all([host, "lab2"])) == {host}
    assert store.slot_path(host).name == slot_name


def test_corrupt_slot_is_reported_not_believed(tmp_path: Path) -> None:
    """A slot whose checksum does not match is unreadable, with the reason, never trusted."""
    store = HeartbeatStore(tmp_path)
    store.write(_slot(seq=3))
    path = store.slot_path("lab1")
    path.write_bytes(path.read_bytes().replace(b'"seq":3', b'"seq":9'))
    read = store.read("lab1")
    assert read.slot is None and read.problem is not None and "checksum" in read.problem


def test_missing_slot_and_missing_store_differ(tmp_path: Path) -> None:
    """A host with no slot yet is reported as such; a store that is gone raises OSError."""
    store = HeartbeatStore(tmp_path)
    store.write(_slot("lab1"))
    assert store.read("lab2").problem == "no slot written yet"
    shutil.rmtree(tmp_path / "ha")
    with pytest.raises(OSError):
        store.read_all(("lab1",))


def test_encoding_round_trips_and_rejects_garbage() -> None:
    """encode/decode round-trip a slot; arbitrary bytes are refused."""
    slot = _slot(reason="cannot join the liveset: the heartbeat store is not reachable")
    assert decode_slot(encode_slot(slot)) == slot
    with pytest.raises(ValueError):
        decode_slot(b"\xff\xfe")
