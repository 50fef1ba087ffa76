"""A host's public key as text: the one encoding, "ed25519:" and the standard base64 of its 32
raw bytes (docs/protocol.md, Signed slots). `haplan host keygen` prints it, the pool file and
`host_key_trusted` events hold it, the collector compares it with its own.

Base64 has several spellings of the same bytes (the unused bits of the last character), so a
key is kept only in its canonical spelling, `host_key_text` of its bytes: two texts of one
key compare equal as strings wherever they are compared.
"""

from __future__ import annotations

import base64
import binascii

HOST_KEY_PREFIX = "ed25519:"
HOST_KEY_BYTES = 32


def host_key_text(raw: bytes) -> str:
    """The canonical text of a public key's raw bytes."""
    if len(raw) != HOST_KEY_BYTES:
        raise ValueError(f"an Ed25519 public key has {HOST_KEY_BYTES} bytes, this one {len(raw)}")
    return HOST_KEY_PREFIX + base64.b64encode(raw).decode()


def host_key_bytes(text: str) -> bytes:
    """The raw bytes of a key's text; ValueError (one line) for anything that is not one."""
    if not text.startswith(HOST_KEY_PREFIX):
        raise ValueError(f"a host key starts with {HOST_KEY_PREFIX!r} (haplan host keygen)")
    try:
        raw = base64.b64decode(text[len(HOST_KEY_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a host key's text after 'ed25519:' must be base64") from None
    if len(raw) != HOST_KEY_BYTES:
        raise ValueError(f"an Ed25519 public key has {HOST_KEY_BYTES} bytes, this one {len(raw)}")
    return raw


def check_host_key(text: str) -> str:
    """The canonical text of a key given as text (a validator: ValueError if it is none)."""
    return host_key_text(host_key_bytes(text))
