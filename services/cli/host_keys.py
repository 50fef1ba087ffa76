"""`haplan host keygen|trust`: a host's signing key pair, and registering its public key on
the running pool (docs/protocol.md, Signed slots).

The private key goes to a new file, mode 0600, for the host's collector (`--key FILE`); the
public key is printed, for the pool file (`key:` on the host) or `haplan host trust`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from schemas.ops import HostTrust
from services.cli.events import JsonFlag, NatsServers
from services.cli.host import HostArg, host_app
from services.cli.ops import run_op
from services.cli.output import console, emit_json, fail
from services.cli.xe_params import build, named


@host_app.command("keygen")
def keygen(
    host: HostArg,
    out: Annotated[
        Path,
        typer.Option("--out", metavar="FILE", help="Where to write the private key (new file)."),
    ],
    as_json: JsonFlag = False,
) -> None:
    """Make HOST's key pair: the private key to FILE (mode 0600, never overwritten), the
    public key printed for the pool file's `key:` or `haplan host trust`."""
    from services.common.signing import HostSigner

    if not host.strip():
        fail("HOST is empty", "give the host's name in the pool")
    signer = HostSigner.generate()
    try:
        signer.save(out)
    except FileExistsError:
        fail(f"{out} exists", "a key file is never overwritten; remove it or pick another path")
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or exc}")
    if as_json:
        emit_json({"host": host, "key": signer.public, "private_key_file": str(out)})
    else:
        console.print(signer.public, highlight=False, soft_wrap=True)


@host_app.command("trust")
def trust(
    host: HostArg,
    key: Annotated[
        str, typer.Argument(metavar="KEY", help="The public key, ed25519:<base64> (keygen's).")
    ],
    nats: NatsServers = None,
    as_json: JsonFlag = False,
) -> None:
    """Register KEY as the key HOST signs its heartbeat-store slots with (an event in the log):
    from then on only slots signed with it count as HOST's word. Restart HOST's collector with
    the matching --key."""
    run_op(build(HostTrust, host=named("host", host), key=key), nats, as_json)
