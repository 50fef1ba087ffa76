"""A fencing agent's credential, read where the pool's reference says (`file:/path` holding
`user:password`, or `env:NAME` holding it), at the moment it is needed: never kept, logged or
recorded (schemas.fencing)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple


class CredentialError(ValueError):
    """The reference cannot give a credential; the message says why on one line and never
    contains the secret."""


class Credential(NamedTuple):
    user: str
    password: str

    def __repr__(self) -> str:  # a credential in a traceback or a log shows no secret
        return f"Credential(user={self.user!r}, password=***)"


def read_credential(ref: str) -> Credential:
    how, _, where = ref.partition(":")
    if how == "file":
        try:
            text = Path(where).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "unreadable"
            raise CredentialError(f"credential {ref}: cannot read it: {reason}") from None
    elif how == "env":
        value = os.environ.get(where)
        if value is None:
            raise CredentialError(f"credential {ref}: the variable is not set") from None
        text = value
    else:
        raise CredentialError(f"credential {ref!r}: not a file: or env: reference")
    user, sep, password = text.strip().partition(":")
    if not sep or not user:
        raise CredentialError(f"credential {ref}: must hold user:password")
    return Credential(user, password)
