"""Host keys and signed slot records (docs/protocol.md, Signed slots).

Each host signs its heartbeat-store slot with an Ed25519 key only it holds; the pool registers
the public key (`key: ed25519:<base64>` on the host). Whoever forwards a slot (another
collector, the arbiter into the log) forwards the record as written, and anyone holding the
pool can check it: `verified_slot` is pure (no IO, no clock), so the arbiter core and `haplan
audit verify` call it alike.

The private key is a PKCS#8 PEM file (`haplan host keygen`, or `openssl genpkey -algorithm
ed25519`), readable by its owner only.
"""

from __future__ import annotations

import base64
import binascii
import stat
import threading
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import ValidationError

from schemas.host_key import check_host_key, host_key_bytes, host_key_text
from schemas.liveness import SignedRecord
from schemas.slot import Slot
from services.common.private_file import write_private
from services.common.slot_bounds import record_fits

# Signatures cover this prefix too, so that a slot signature is never valid for anything else
# the key might one day sign.
DOMAIN = b"haplan-slot-v1\n"


class HostKeyError(ValueError):
    """A key file or key text that cannot be used; the message is one line."""


def public_text(key: Ed25519PublicKey) -> str:
    """The key's canonical text (schemas.host_key)."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return host_key_text(raw)


@lru_cache(maxsize=1024)  # a pool's few keys, parsed once rather than on every verification
def parse_public(text: str) -> Ed25519PublicKey:
    try:
        raw = host_key_bytes(text)
    except ValueError as exc:
        raise HostKeyError(str(exc)) from None
    return Ed25519PublicKey.from_public_bytes(raw)


class HostSigner:
    """A host's private key: signs the slot records this host writes."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public = public_text(key.public_key())

    @classmethod
    def generate(cls) -> HostSigner:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, pem: bytes, source: str = "key") -> HostSigner:
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as exc:
            raise HostKeyError(
                f"{source}: not a PEM private key without a password ({exc})"
            ) from None
        if not isinstance(key, Ed25519PrivateKey):
            raise HostKeyError(f"{source}: not an Ed25519 key")
        return cls(key)

    @classmethod
    def load(cls, path: Path) -> HostSigner:
        """Read a key file; refuse one that others than its owner may read (another local
        user could sign as this host)."""
        try:
            mode = path.stat().st_mode
            pem = path.read_bytes()
        except OSError as exc:
            raise HostKeyError(f"{path}: cannot read the host key: {exc.strerror or exc}") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise HostKeyError(
                f"{path}: the host key is readable by others (mode {stat.S_IMODE(mode):o}); "
                f"chmod 600 {path}"
            )
        return cls.from_pem(pem, str(path))

    def pem(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def save(self, path: Path) -> None:
        """Write the key to a new file, mode 0600 from its creation."""
        write_private(path, self.pem())

    def sign(self, body: str) -> SignedRecord:
        sig = base64.b64encode(self._key.sign(DOMAIN + body.encode())).decode()
        _made(self.public, body, sig)
        return SignedRecord(body=body, sig=sig)


# The signatures this process made, by (body, signature), with the public key text of the key
# that made each: a signature holds by construction under that key (an Ed25519 signature made
# with a key verifies under its public key), and under no other one (verifying under another
# key would take a forgery of that key: answered no, the safe answer, without the work). So a
# process that signs and then checks what it signed (the simulator, which plays the hosts, a
# hostile host forging with its own key, and the arbiters; the tests) does not pay for a
# verification whose answer is known. In production a collector signs and an arbiter
# verifies, in different processes: nothing changes there. Bounded, oldest first out;
# anything not in it is verified.
_MADE: dict[tuple[str, str], str] = {}
_MADE_LOCK = threading.Lock()  # a shell may sign from a worker thread
MADE_KEPT = 4096


def _made(public: str, body: str, sig: str) -> None:
    with _MADE_LOCK:
        _MADE[(body, sig)] = public
        if len(_MADE) > MADE_KEPT:
            del _MADE[next(iter(_MADE))]


@lru_cache(maxsize=1024)
def _canonical(key: str) -> bool:
    """Whether `key` is a key's one spelling (schemas.host_key): then no other text is the
    same key, and a signature made under another text is not one of this key."""
    try:
        return check_host_key(key) == key
    except ValueError:
        return False


def signature_holds(key: str, record: SignedRecord) -> bool:
    """Whether `record` was signed by the holder of the registered public `key`."""
    made_by = _MADE.get((record.body, record.sig))
    if made_by is not None and (made_by == key or _canonical(key)):
        return made_by == key
    try:
        public = parse_public(key)
        sig = base64.b64decode(record.sig, validate=True)
        public.verify(sig, DOMAIN + record.body.encode())
    except (HostKeyError, InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def verified_slot(key: str | None, host: str, record: SignedRecord | None) -> Slot | None:
    """The slot `record` holds, if `host`'s registered `key` signed it and it is `host`'s
    slot; None otherwise (no key registered, no record, bad signature, another host's)."""
    if key is None or record is None or not record_fits(host, record.body, record.sig):
        # Bounded before the cache, which keeps what it is given, forgeries too.
        return None
    return _verified(key, host, record.body, record.sig)


# The same record comes again from every observer, every interval (and a flood repeats one
# forgery): each is verified once.
@lru_cache(maxsize=4096)
def _verified(key: str, host: str, body: str, sig: str) -> Slot | None:
    if not signature_holds(key, SignedRecord(body=body, sig=sig)):
        return None
    try:
        slot = Slot.model_validate_json(body)
    except ValidationError:
        return None
    return slot if slot.host == host else None
