"""Host signing keys made in one place for several hosts: the compose stack's one-shot `keys`
service (`haplan deploy keys`, README, Running the compose stack).

Each named host gets a directory of its own holding `host.key` (directory 0700, key 0600,
optionally handed to the collector's account), so that a container engine can give each
collector its own directory and no other. A key already there is kept, never replaced: the
pool is loaded once with the public keys, and a new key would make the collector refuse to
start. The pool comes back with every named host's public key registered, for `pool create`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from schemas.pool import Pool
from services.common.signing import HostKeyError, HostSigner

KEY_FILE = "host.key"


class KeySetupError(ValueError):
    """One line saying why the keys could not be set up; nothing was registered."""


@dataclass(frozen=True)
class HostKeyOutcome:
    host: str
    key: str
    path: Path
    made: bool  # False: the key was already there and is kept


def ensure_host_keys(
    pool: Pool, dirs: dict[str, Path], owner: tuple[int, int] | None = None
) -> tuple[Pool, list[HostKeyOutcome]]:
    """A key for every host in `dirs` (host -> its directory), made when missing; the pool
    with those public keys registered. Hosts not in `dirs` keep what the pool says."""
    names = {h.name for h in pool.hosts}
    for host in dirs:
        if host not in names:
            raise KeySetupError(f"{host!r} is not a host of the pool {pool.name!r}")
    outcomes: dict[str, HostKeyOutcome] = {}
    for host, directory in dirs.items():
        outcomes[host] = _ensure_one(host, directory, owner)
    hosts = []
    for entry in pool.hosts:
        found = outcomes.get(entry.name)
        if found is not None:
            if entry.key is not None and entry.key != found.key:
                raise KeySetupError(
                    f"the pool file registers another key for {entry.name} than {found.path}; "
                    "remove one of them"
                )
            entry = entry.model_copy(update={"key": found.key})
        hosts.append(entry)
    return pool.model_copy(update={"hosts": tuple(hosts)}), list(outcomes.values())


def _ensure_one(host: str, directory: Path, owner: tuple[int, int] | None) -> HostKeyOutcome:
    path = directory / KEY_FILE
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        # A volume's root comes with the engine's mode (0755, root's): only the owner may list it.
        directory.chmod(0o700)
        made = not path.exists()
        if made:
            signer = HostSigner.generate()
            signer.save(path)
        else:
            signer = HostSigner.load(path)
        if owner is not None:
            for item in (directory, path):
                os.chown(item, *owner)
    except HostKeyError as exc:
        raise KeySetupError(str(exc)) from None
    except OSError as exc:
        raise KeySetupError(f"{path}: {exc.strerror or exc}") from None
    return HostKeyOutcome(host, signer.public, path, made)


def parse_owner(text: str) -> tuple[int, int]:
    """`UID:GID` or `UID` (the group then the same number)."""
    uid, _, gid = text.partition(":")
    try:
        return int(uid), int(gid or uid)
    except ValueError:
        raise KeySetupError(f"owner {text!r} is not UID[:GID] in numbers") from None


def parse_host_dir(text: str) -> tuple[str, Path]:
    host, sep, directory = text.partition("=")
    if not sep or not host.strip() or not directory:
        raise KeySetupError(f"{text!r} is not HOST=DIR")
    return host, Path(directory)


def write_pool_text(path: Path, text: str) -> None:
    """Replace `path` whole (a reader never sees half a pool); readable by all, since a pool
    file holds only public keys."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.chmod(0o644)
    tmp.replace(path)
