"""The heartbeat store: one slot file per host in `STORE/ha/`, on shared storage.

A write goes to a temporary file, is fsynced and renamed over the slot, then read back: only a
slot that reads back intact proves the store works for this host (a write that lands in a page
cache of a dead NFS mount proves nothing). Each file carries a SHA-256 of its body, so a torn or
foreign file is reported as unreadable rather than believed.

These calls block on a hung mount; the collector shell runs them off its event loop with a
deadline, and a call that misses it counts as a store failure.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

from pydantic import ValidationError

from schemas.slot import Slot

SLOT_SUFFIX = ".slot"


class SlotUnreadable(ValueError):
    """A slot file that exists but cannot be trusted (torn, corrupt, or not a slot)."""


@dataclass(frozen=True, slots=True)
class SlotRead:
    host: str
    slot: Slot | None  # None: the file is unreadable this time (see `problem`)
    problem: str | None = None


def encode_slot(slot: Slot) -> bytes:
    body = slot.model_dump_json()
    digest = hashlib.sha256(body.encode()).hexdigest()
    return f"{body}\n{digest}\n".encode()


def decode_slot(raw: bytes) -> Slot:
    try:
        body, digest, *rest = raw.decode().split("\n")
    except (UnicodeDecodeError, ValueError):
        raise SlotUnreadable("not a slot file") from None
    if any(rest) or hashlib.sha256(body.encode()).hexdigest() != digest:
        raise SlotUnreadable("checksum mismatch (torn or corrupt write)")
    try:
        return Slot.model_validate_json(body)
    except ValidationError as exc:
        raise SlotUnreadable(f"invalid slot: {exc.errors()[0]['msg']}") from None


class HeartbeatStore:
    def __init__(self, store_dir: Path) -> None:
        self.dir = store_dir / "ha"

    def slot_path(self, host: str) -> Path:
        # Host names may hold characters a file name cannot; quote them reversibly.
        return self.dir / (quote(host, safe="") + SLOT_SUFFIX)

    def write(self, slot: Slot) -> None:
        """Write this host's slot atomically and read it back; raises OSError on failure."""
        # `ha/` only, never the store itself: a missing store is an unmounted one.
        self.dir.mkdir(exist_ok=True)
        path = self.slot_path(slot.host)
        tmp = path.with_name(f".{path.name}.{slot.incarnation}.tmp")
        data = encode_slot(slot)
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
            return SlotRead(host, decode_slot(raw))
        except SlotUnreadable as exc:
            return SlotRead(host, None, str(exc))

    def read_all(self) -> dict[str, SlotRead]:
        """Every slot in the store, by host; OSError if the store cannot be listed."""
        reads: dict[str, SlotRead] = {}
        for entry in os.scandir(self.dir):
            if entry.name.endswith(SLOT_SUFFIX) and not entry.name.startswith("."):
                host = unquote(entry.name[: -len(SLOT_SUFFIX)])
                reads[host] = self.read(host)
        return reads
