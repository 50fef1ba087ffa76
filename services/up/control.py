"""The control socket of `haplan up`: how `haplan fault` reaches the running system.

A unix socket in the runtime directory rather than a request on the private NATS: the fault
path stays outside the system under test (a cut network or a sick nats-server does not stop
the operator from healing it, as a lab's power switch does not run over the lab's network),
and only the user who started `up` can use it (the directory is 0700), where any client of
the bus could pull cables if it went over NATS.

One request per connection: a JSON object on one line, answered by one JSON line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

Handler = Callable[[object], Awaitable[dict[str, Any]]]
# A power pull waits for the host's processes to die: allow for a loaded machine.
CLIENT_TIMEOUT_S = 20.0


class ControlUnavailable(ConnectionError):
    """Nothing answers on the control socket."""


class ControlServer:
    def __init__(self, path: Path, handler: Handler) -> None:
        self.path, self._handler = path, handler
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.path))
        self.path.chmod(0o600)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                request: object = json.loads(await reader.readline())
            except ValueError:  # longer than the reader's limit, or not JSON
                request = None
            reply = await self._handler(request)
            writer.write(json.dumps(reply).encode() + b"\n")
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


def request(path: Path, payload: dict[str, Any], timeout_s: float = CLIENT_TIMEOUT_S) -> Any:
    """Send one request and return the decoded reply (blocking; the CLI side)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        try:
            sock.connect(str(path))
        except OSError as exc:
            raise ControlUnavailable(f"nothing answers on {path}: {exc.strerror or exc}") from None
        sock.sendall(json.dumps(payload).encode() + b"\n")
        chunks: list[bytes] = []
        try:
            while not chunks or not chunks[-1].endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except TimeoutError:
            raise ControlUnavailable(f"no answer from haplan up within {timeout_s:g} s") from None
    try:
        return json.loads(b"".join(chunks))
    except ValueError:
        raise ControlUnavailable("haplan up closed the control socket without answering") from None
