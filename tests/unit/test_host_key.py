"""A host's public key has one text (schemas.host_key): "ed25519:" and the canonical base64 of
its 32 bytes. Any other spelling of the same bytes is stored canonical, so keys compare equal
as strings wherever they are compared (the collector's own key against the pool's)."""

from __future__ import annotations

import base64

import pytest

from schemas.host_key import HOST_KEY_PREFIX, check_host_key, host_key_bytes, host_key_text
from schemas.ops import HostTrust
from schemas.pool import Host
from services.common.signing import HostSigner, signature_holds

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _other_spelling(text: str) -> str:
    """The same key with the unused low bits of its last base64 character set: base64 decodes
    it to the same 32 bytes, but the text differs."""
    body = text[len(HOST_KEY_PREFIX) :]
    last = body.rstrip("=")[-1]
    odd = ALPHABET[ALPHABET.index(last) | 0b01]
    spelled = body[: len(body.rstrip("=")) - 1] + odd + "="
    assert spelled != body and base64.b64decode(spelled) == base64.b64decode(body)
    return HOST_KEY_PREFIX + spelled


def test_the_key_text_round_trips_through_its_bytes() -> None:
    """keygen's text, its bytes and the text of those bytes are one and the same."""
    signer = HostSigner.generate()
    raw = host_key_bytes(signer.public)
    assert len(raw) == 32 and host_key_text(raw) == signer.public
    assert check_host_key(signer.public) == signer.public


def test_another_spelling_of_a_key_is_stored_canonical_and_still_verifies() -> None:
    """A key written with the unused base64 bits set reads as the canonical text in the pool
    file and in a trust request, and a record the host signed verifies against either."""
    signer = HostSigner.generate()
    odd = _other_spelling(signer.public)
    assert Host(name="lab1", memory_mib=1024, key=odd).key == signer.public
    assert HostTrust(host="lab1", key=odd).key == signer.public
    record = signer.sign("{}")
    assert signature_holds(odd, record) and signature_holds(signer.public, record)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("ssh-ed25519 AAAA", "starts with 'ed25519:'"),
        ("ed25519:not base64!", "must be base64"),
        ("ed25519:" + base64.b64encode(bytes(16)).decode(), "32 bytes, this one 16"),
    ],
)
def test_a_text_that_is_no_key_is_refused_with_one_line(text: str, says: str) -> None:
    """Wrong prefix, not base64, or the wrong length: a one-line ValueError saying which."""
    with pytest.raises(ValueError, match=says) as info:
        check_host_key(text)
    assert "\n" not in str(info.value)
