"""Secrets on disk: a file only its owner can read, from the moment it exists.

Stdlib only: `haplan up`'s credentials (services.up.credentials) import it on every command.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_private(path: Path, data: bytes) -> None:
    """Create `path` with mode 0600 and write `data` to it. Created 0600 by open(), not
    chmod-ed after, so the secret is never readable by others, not even for a moment;
    O_EXCL refuses a file that exists (someone else's, or a symlink planted to redirect
    the write): FileExistsError."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(data)
        while view:  # os.write may write less than asked
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
