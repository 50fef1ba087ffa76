"""The heartbeat store: one slot file per host in `STORE/ha/`, on shared storage.

A write goes to a temporary file, is fsynced and renamed over the slot, then read back: only a
slot that reads back intact proves the store works for this host (a write that lands in a page
cache of a dead NFS mount proves nothing). Each file carries a SHA-256 of its body, so a torn or
foreign file is reported as unreadable rather than believed.

A collector with a host key signs its slot: the file is then the body, the base64 Ed25519
signature, and the SHA-256 of both, one per line (docs/protocol.md, Signed slots). Readers keep
the signed record as read, to forward it: the checksum catches torn writes, the signature
forgery, and only the arbiter (which holds the pool's keys) needs to check the latter.

These calls block on a hung mount; the collector shell runs them off its event loop with a
deadline, and a call that misses it counts as a store failure.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from pydantic import ValidationError

# One definition of the slot files' names: schemas.limits bounds host names by them.
from schemas.limits import SLOT_SUFFIX, slot_temp_name
from schemas.liveness import SignedRecord
from schemas.slot import Slot
from services.common.signing import HostSigner


class SlotUnreadable(ValueError):
    """A slot file that exists but cannot be trusted (torn, corrupt, or not a slot)."""


@dataclass(frozen=True, slots=True)
class SlotRead:
    host: str
    slot: Slot | None  # None: the file is unreadable this time (see `problem`)
    problem: str | None = None
    record: SignedRecord | None = None  # the slot as signed by its writer; None if unsigned


def _digest(*lines: str) -> str:
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def encode_slot(slot: Slot, signer: HostSigner | None = None) -> bytes:
    body = slot.model_dump_json()
    if signer is None:
        return f"{body}\n{_digest(body)}\n".encode()
    sig = signer.sign(body).sig
    return f"{body}\n{sig}\n{_digest(body, sig)}\n".encode()


def decode_signed(raw: bytes) -> tuple[Slot, SignedRecord | None]:
    """The slot a file holds, and its signed record if it is signed."""
    try:
        lines = raw.decode().split("\n")
    except UnicodeDecodeError:
        raise SlotUnreadable("not a slot file") from None
    if lines[-1] == "":
        lines.pop()
    if len(lines) not in (2, 3):
        raise SlotUnreadable("not a slot file")
    *signed, digest = lines
    if _digest(*signed) != digest:
        raise SlotUnreadable("checksum mismatch (torn or corrupt write)")
    body = signed[0]
    try:
        slot = Slot.model_validate_json(body)
    except ValidationError as exc:
        raise SlotUnreadable(f"invalid slot: {exc.errors()[0]['msg']}") from None
    return slot, SignedRecord(body=body, sig=signed[1]) if len(signed) == 2 else None


def decode_slot(raw: bytes) -> Slot:
    return decode_signed(raw)[0]


class HeartbeatStore:
    def __init__(self, store_dir: Path, signer: HostSigner | None = None) -> None:
        self.dir = store_dir / "ha"
        self.signer = signer

    def slot_path(self, host: str) -> Path:
        # Host names may hold characters a file name cannot; quote them reversibly.
        return self.dir / (quote(host, safe="") + SLOT_SUFFIX)

    def write(self, slot: Slot) -> None:
        """Write this host's slot atomically and read it back; raises OSError on failure."""
        # `ha/` only, never the store itself: a missing store is an unmounted one.
        self.dir.mkdir(exist_ok=True)
        path = self.slot_path(slot.host)
        tmp = path.with_name(slot_temp_name(path.name, slot.incarnation))
        data = encode_slot(slot, self.signer)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        if path.read_bytes() != data:
            raise OSError(f"slot {path} did not read back as written")

    def read(self, host: str) -> SlotRead:
        """Read one host's slot; OSError if the store itself cannot be read."""
        try:
            raw = self.slot_path(host).read_bytes()
        except FileNotFoundError:
            return SlotRead(host, None, "no slot written yet")
        try:
            slot, record = decode_signed(raw)
        except SlotUnreadable as exc:
            return SlotRead(host, None, str(exc))
        if slot.host != host:
            # Any host can write any file of the shared store: a slot in another host's file
            # would let it speak for that host (and repeat itself under many names).
            return SlotRead(host, None, "slot names another host")
        return SlotRead(host, slot, record=record)

    def read_all(self, hosts: Iterable[str]) -> dict[str, SlotRead]:
        """The slots of `hosts` (the pool's), by host; OSError if the store cannot be listed.
        Other files are never read: a host could write any number of them."""
        names = {entry.name for entry in os.scandir(self.dir)}
        return {h: self.read(h) for h in hosts if self.slot_path(h).name in names}
