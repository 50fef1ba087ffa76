"""The hosts' signing keys of a `haplan up` run (docs/protocol.md, Signed slots).

Each run makes a fresh key pair per host in RUNTIME/keys/ (the directory 0700, each key 0600),
gives each collector its own key only, and registers the public keys in the pool it loads: the
demo runs the signed slots exactly as a deployment does. A key the pool file registers is
replaced, since `up` cannot hold that host's private key.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from schemas.pool import Pool
from services.common.signing import HostSigner


def key_path(root: Path, host: str) -> Path:
    return root / "keys" / (quote(host, safe="") + ".key")


def make_host_keys(root: Path, pool: Pool) -> Pool:
    """Write a new private key for every host of `pool` under `root`/keys; the pool with their
    public keys registered."""
    (root / "keys").mkdir(mode=0o700)
    hosts = []
    for host in pool.hosts:
        signer = HostSigner.generate()
        signer.save(key_path(root, host.name))
        hosts.append(host.model_copy(update={"key": signer.public}))
    return pool.model_copy(update={"hosts": tuple(hosts)})
