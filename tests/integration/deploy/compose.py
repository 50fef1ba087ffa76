"""docker-compose.yml read as a container engine would, then turned into local processes.

No container engine runs here, so the stack's tests start each service as a process from the
command, entrypoint and environment the compose file gives it, through this small mapping
(everything else is taken as written):
- `${VAR:-default}` (and `${VAR}`, `${VAR-default}`, `$$`) are interpolated as compose does,
  from `variables` (the tests give none, so the file's defaults apply);
- a container's name and port (`nats-2:4222`) becomes `127.0.0.1:<a free port>` for that
  (service, port); in a service's own command and environment its own listening addresses
  (`0.0.0.0:6222`, `127.0.0.1:9100`) and the ports of `--port`, `--http_port` and
  `--metrics-port` map the same way, and a bare `0.0.0.0` becomes `127.0.0.1`;
- `/etc/haplan/` is the repository's `deploy/` (deploy/Dockerfile copies it there), and each
  named volume is one temporary directory, shared by the services that mount it; in a
  container a volume is a mount point, a temporary directory is not, so a collector whose
  `--store` is a volume gets `--store-local` (the one flag the mapping adds);
- the entrypoint (the service's, else the Dockerfile's ENTRYPOINT) `haplan` is this
  interpreter running `services.cli.main`, and `nats-server` is the binary haplan finds
  (services.common.natsserver.locate_nats_server), the one the image installs.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from compose_spec import PyOptions

from services.common.natsserver import free_port, locate_nats_server

ROOT = Path(__file__).resolve().parents[3]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
IMAGE_CONFIG = "/etc/haplan/"
PORT_FLAGS = ("--port", "--http_port", "--metrics-port")
_VARIABLE = re.compile(r"\$\$|\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def load(text: str) -> dict[str, Any]:
    """The compose file validated by the compose-spec package (merge keys applied, every
    reference to a network, volume, config or secret defined); ValueError names a problem.
    Validated as an engine reads it, interpolated with the file's defaults (a port or subnet
    given as `${VAR:-default}` parses only then); returned as written, merge keys applied, for
    the stack to interpolate with its own variables."""
    compose = PyOptions(apply_merge=True).from_yaml(interpolate(text, {}))
    compose.validate()
    spec: dict[str, Any] = yaml.safe_load(text)
    return spec


def interpolate(value: str, variables: Mapping[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, default = match.groups()
        found = variables.get(name)
        unset = not found if op in (":-", ":?") else found is None
        if op is not None and unset:
            if op.endswith("?"):
                raise ValueError(f"${{{name}}} is required: {default}")
            return default
        return found or ""

    return _VARIABLE.sub(one, value)


def image_entrypoint() -> list[str]:
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith("ENTRYPOINT "):
            entry: list[str] = json.loads(line.removeprefix("ENTRYPOINT "))
            return entry
    raise AssertionError("deploy/Dockerfile has no ENTRYPOINT")


@dataclass
class Ports:
    """A free loopback port for each (service, container port), the same one every time."""

    taken: dict[tuple[str, int], int]

    def __call__(self, service: str, port: int) -> int:
        key = (service, port)
        if key not in self.taken:
            self.taken[key] = free_port()
        return self.taken[key]


@dataclass(frozen=True)
class Process:
    """One service as a local process."""

    service: str
    argv: list[str]
    env: dict[str, str]


class LocalView:
    """The documented mapping from a container's view to this machine's."""

    def __init__(self, spec: dict[str, Any], volumes: Callable[[str], Path]) -> None:
        self.services: dict[str, Any] = spec["services"]
        self.ports = Ports({})
        self._volumes = volumes
        names = "|".join(re.escape(n) for n in sorted(self.services, key=len, reverse=True))
        # One pass: an address already mapped to loopback must not be mapped again.
        self._address = re.compile(rf"(?<![\w.-])({names}|0\.0\.0\.0|127\.0\.0\.1):(\d+)")

    def value(self, service: str, text: str) -> str:
        def local(match: re.Match[str]) -> str:
            host, port = match[1], int(match[2])
            owner = host if host in self.services else service  # a peer, or its own address
            return f"127.0.0.1:{self.ports(owner, port)}"

        text = self._address.sub(local, text)
        text = text.replace("0.0.0.0", "127.0.0.1")
        for target, path in self.mounts(service).items():
            text = re.sub(rf"(?<![\w/.]){re.escape(target)}(?=/|$|[^\w])", str(path), text)
        return text.replace(IMAGE_CONFIG, f"{ROOT / 'deploy'}/")

    def mounts(self, service: str) -> dict[str, Path]:
        found = {}
        for volume in self.services[service].get("volumes", []):
            source, target = (volume.split(":")[:2] if isinstance(volume, str)
                              else (volume["source"], volume["target"]))  # fmt: skip
            found[target] = self._volumes(source)
        return found

    def argv(self, service: str, args: list[str]) -> list[str]:
        out: list[str] = []
        for i, arg in enumerate(args):
            if i > 0 and args[i - 1] in PORT_FLAGS and arg.isdigit():
                out.append(str(self.ports(service, int(arg))))
            else:
                out.append(self.value(service, arg))
        volumes = self.mounts(service)
        if any(a == "--store" and b in volumes for a, b in itertools.pairwise(args)):
            out.append("--store-local")
        return out


def executable(entry: list[str]) -> list[str]:
    program, *rest = entry
    if program == "haplan":
        return [sys.executable, "-m", "services.cli.main", *rest]
    if program == "nats-server":
        return [str(locate_nats_server()), *rest]
    raise AssertionError(f"no local stand-in for the entrypoint {program!r}")


def process(
    mapping: LocalView, service: str, variables: Mapping[str, str], base_env: Mapping[str, str]
) -> Process:
    """`service` as a local process: its entrypoint and command, its environment."""
    spec = mapping.services[service]
    entry = spec.get("entrypoint") or image_entrypoint()
    command = [interpolate(str(a), variables) for a in spec.get("command", [])]
    argv = executable([*entry]) + mapping.argv(service, command)
    env = dict(base_env)
    for name, raw in (spec.get("environment") or {}).items():
        env[name] = mapping.value(service, interpolate(str(raw), variables))
    return Process(service, argv, env)


def healthcheck(
    mapping: LocalView, service: str, variables: Mapping[str, str], base_env: Mapping[str, str]
) -> Process:
    """The service's healthcheck test (`CMD ...`) as a local process."""
    test = mapping.services[service]["healthcheck"]["test"]
    assert test[0] == "CMD", test
    program, *args = (interpolate(str(a), variables) for a in test[1:])
    return Process(service, executable([program]) + mapping.argv(service, args), dict(base_env))
