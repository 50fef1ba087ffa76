"""The compose stack as local processes (tests/integration/deploy/compose.py says how each
service is mapped): started in the compose file's order of dependencies, stopped and cleaned up
whatever happens (every process in its own group, terminated then killed; every directory
removed)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.common.lifetime import die_with_parent
from tests.integration.deploy.compose import (
    COMPOSE_FILE,
    ROOT,
    LocalView,
    Process,
    healthcheck,
    load,
    process,
)

NATS_NODES = ("nats-1", "nats-2", "nats-3")
SERVICES = ("arbiter-1", "arbiter-2", "planner-1", "planner-2", "lab1", "lab2", "lab3")
# What the processes inherit from the test run: how to find programs and haplan itself, but
# no NATS setting or credential of the operator's shell (the compose file's own count).
_INHERITED = ("PATH", "HOME", "LANG", "TMPDIR", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in _INHERITED}
    env.update(PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    return env


@dataclass
class Stack:
    root: Path
    view: LocalView
    variables: dict[str, str] = field(default_factory=dict)
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def log(self, service: str) -> Path:
        return self.root / "logs" / f"{service}.log"

    def spec(self, service: str) -> Process:
        return process(self.view, service, self.variables, base_env())

    def start(self, service: str, *, env: dict[str, str] | None = None) -> None:
        proc = self.spec(service)
        with self.log(service).open("ab") as log:
            self.running[service] = subprocess.Popen(
                proc.argv,
                env={**proc.env, **(env or {})},
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                # Its own session (a signal for the test run must not reach it), yet gone
                # with the run however the run ends: a killed pytest runs no finalizer.
                preexec_fn=die_with_parent,
            )

    def run(self, service: str, *args: str, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:  # fmt: skip
        """A one-shot service (its command, or `args` instead: `docker compose run`)."""
        proc = self.spec(service)
        argv = proc.argv
        if args:  # the entrypoint, then `args` mapped like a command
            argv = argv[: len(argv) - self._command_len(service)]
            argv += self.view.argv(service, list(args))
        return subprocess.run(
            argv, env={**proc.env, **(env or {})}, cwd=self.root,
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    def _command_len(self, service: str) -> int:
        # As mapped: the mapping may add a flag (a collector's --store-local).
        command = [str(a) for a in self.view.services[service].get("command", [])]
        return len(self.view.argv(service, command))

    def health(self, service: str) -> subprocess.CompletedProcess[str]:
        check = healthcheck(self.view, service, self.variables, base_env())
        return subprocess.run(check.argv, env=check.env, capture_output=True, text=True, timeout=30)

    def wait_http(self, service: str, container_port: int, path: str, timeout: float) -> None:
        url = f"http://127.0.0.1:{self.view.ports(service, container_port)}{path}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.assert_alive(service)
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
            time.sleep(0.1)
        raise AssertionError(f"{service}: {url} not ready after {timeout} s: {self.tail(service)}")

    def assert_alive(self, service: str) -> None:
        code = self.running[service].poll()
        assert code is None, f"{service} exited {code}: {self.tail(service)}"

    def tail(self, service: str, lines: int = 8) -> str:
        try:
            return " | ".join(self.log(service).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def status(self) -> dict[str, Any]:
        result = self.run("cli")
        assert result.returncode == 0, result.stderr
        answer: dict[str, Any] = json.loads(result.stdout)
        return answer

    def wait_live(self, hosts: int, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            for service in SERVICES:
                self.assert_alive(service)
            result = self.run("cli")
            if result.returncode == 0:
                last = json.loads(result.stdout)
                if sum(h["state"] == "live" for h in last["hosts"]) == hosts:
                    return dict(last)
            else:
                last = result.stderr.strip()
            time.sleep(0.5)
        raise AssertionError(f"not {hosts} live hosts after {timeout} s: {last}")

    def stop(self) -> None:
        """The services first, then the NATS nodes they talk to (stopped first, the services
        would spend their grace period reconnecting)."""
        services = [s for s in self.running if s not in NATS_NODES]
        self._stop(services)
        self._stop([s for s in list(self.running)])

    def stop_service(self, service: str) -> None:
        self._stop([service])

    def _stop(self, services: list[str]) -> None:
        procs = [self.running.pop(s) for s in services]
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def new_stack(root: Path) -> Stack:
    """The compose topology mapped into `root` (volumes, logs), nothing started yet."""
    volumes = root / "volumes"

    def volume(name: str) -> Path:
        path = volumes / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    stack = Stack(root, LocalView(load(COMPOSE_FILE.read_text()), volume))
    (root / "logs").mkdir(parents=True)
    return stack


@contextlib.contextmanager
def compose_stack(base: Path | None = None) -> Iterator[Stack]:
    """The whole compose topology, running and with its pool loaded and live; stopped and its
    directory removed on the way out, pass or fail. Its directory is made under `base` (the
    test run's temporary directory, which pytest prunes even after a killed run) when given.
    Its processes die with the process that started them, however it dies."""
    root = Path(tempfile.mkdtemp(prefix="haplan-compose-", dir=base))
    stack = new_stack(root)
    try:
        for node in NATS_NODES:  # all before waiting: a node is healthy once the meta group is
            stack.start(node)
        for node in NATS_NODES:
            stack.wait_http(node, 8222, "/healthz", timeout=30)
        _make_keys(stack)
        _create_pool(stack)
        for service in SERVICES:
            stack.start(service)
        yield stack
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)


def _make_keys(stack: Stack) -> None:
    """The one-shot `keys` service: each host's signing key into its own volume, the pool with
    their public keys into the `pool` volume."""
    result = stack.run("keys")
    assert result.returncode == 0, f"keys failed: {result.stderr.strip()}"


def _create_pool(stack: Stack, timeout: float = 30) -> None:
    """pool-create as `restart: on-failure` runs it: again until it exits 0."""
    deadline = time.monotonic() + timeout
    while True:
        result = stack.run("pool-create")
        if result.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"pool-create kept failing: {result.stderr.strip()}")
        time.sleep(0.5)
