"""The compose stack run by a real container engine (podman and podman-compose): the image
built from this checkout as the README says (deploy/wheelhouse.sh, then the build), the stack
started from docker-compose.yml unchanged (only its variables set: image, base, subnet, port,
passwords), the operator's commands run from this machine through the published NATS port,
and everything it made removed afterwards: containers, volumes, network, image. The TLS
profile (deploy/compose.tls.yml) runs the same way over the same image.

Podman schedules healthchecks with systemd timers; on a machine without systemd (the
development machines, CI containers) none are scheduled, so `healthy` runs a container's own
check (`podman healthcheck run`), which records its result as the timer would.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.common.natsserver import free_port

ROOT = Path(__file__).resolve().parents[3]
LOCAL_BASE = "localhost/haplan-base:bookworm"  # deploy/base-image.sh
DEPS_CACHE = "localhost/haplan-e2e-deps:cache"
PASSWORDS = ("ARBITER", "PLANNER", "OPERATOR", "ADMIN", "ROUTE",
             "COLLECTOR_LAB1", "COLLECTOR_LAB2", "COLLECTOR_LAB3")  # fmt: skip
SERVICES = ("nats-1", "nats-2", "nats-3", "arbiter-1", "arbiter-2", "planner-1", "planner-2",
            "lab1", "lab2", "lab3")  # fmt: skip


def podman_compose() -> str | None:
    beside = Path(sys.executable).parent / "podman-compose"
    return str(beside) if beside.exists() else shutil.which("podman-compose")


def missing() -> str | None:
    """Why the container e2e cannot run here, or None."""
    if shutil.which("podman") is None:
        return "podman is not installed: the container e2e needs it (.ci/run installs it)"
    if podman_compose() is None:
        return "podman-compose is not installed (pip install -e '.[dev]')"
    return None


def base_image() -> str:
    """HAPLAN_BASE, else the image deploy/base-image.sh makes when present, else the
    Dockerfile's default (which needs a registry)."""
    chosen = os.environ.get("HAPLAN_BASE")
    if chosen:
        return chosen
    found = subprocess.run(["podman", "image", "exists", LOCAL_BASE], check=False)
    return LOCAL_BASE if found.returncode == 0 else "python:3.11-slim"


def run(argv: list[str], *, env: dict[str, str] | None = None, timeout: float = 120,
        check: bool = True) -> subprocess.CompletedProcess[str]:  # fmt: skip
    result = subprocess.run(
        argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(argv)} exited {result.returncode}:\n{result.stdout[-3000:]}\n"
            f"{result.stderr[-3000:]}"
        )
    return result


@dataclass
class Stack:
    project: str
    image: str
    env: dict[str, str]
    nats_port: int
    files: tuple[str, ...] = ("docker-compose.yml",)
    ca: Path | None = None  # the stack's CA (TLS profile), for the operator's commands
    started: bool = False
    extra_images: list[str] = field(default_factory=list)  # tags made for the stack
    timings: dict[str, float] = field(default_factory=dict)

    def container(self, service: str) -> str:
        return f"{self.project}_{service}_1"

    def compose(self, *args: str, timeout: float = 300, check: bool = True
                ) -> subprocess.CompletedProcess[str]:  # fmt: skip
        files = [a for f in self.files for a in ("-f", f)]
        argv = [str(podman_compose()), "-p", self.project, *files, *args]
        if args[:2] == ("--profile", "cli"):  # a global option: before -p
            argv = [str(podman_compose()), *args[:2], "-p", self.project, *files, *args[2:]]
        return run(argv, env=self.env, timeout=timeout, check=check)

    def healthy(self, service: str) -> bool:
        """The container's own healthcheck passes now (and podman records it healthy)."""
        name = self.container(service)
        if run(["podman", "healthcheck", "run", name], check=False, timeout=60).returncode:
            return False
        state = run(["podman", "inspect", "--format", "{{.State.Health.Status}}", name],
                    check=False)  # fmt: skip
        return state.stdout.strip() == "healthy"

    def upgrade_image(self) -> str:
        """A new image for the stack: the built one under a new tag (removed with the stack),
        which HAPLAN_IMAGE names from now on, so that compose recreates what it touches."""
        new = f"{self.image}-next"
        run(["podman", "tag", self.image, new])
        self.extra_images.append(new)
        self.env["HAPLAN_IMAGE"] = new
        return new

    def image_of(self, service: str) -> str:
        result = run(["podman", "inspect", "--format", "{{.ImageName}}",
                      self.container(service)])  # fmt: skip
        return result.stdout.strip()

    def exit_code(self, service: str, timeout: float) -> int:
        """A one-shot service's exit code, once it has exited (`podman wait`)."""
        result = run(["podman", "wait", self.container(service)], timeout=timeout)
        return int(result.stdout.strip())

    def volume_path(self, volume: str) -> Path:
        """Where the engine keeps one of the stack's volumes on this machine (root's podman)."""
        result = run(["podman", "volume", "inspect", "--format", "{{.Mountpoint}}",
                      f"{self.project}_{volume}"])  # fmt: skip
        return Path(result.stdout.strip())

    def finished_at(self, service: str) -> float:
        """When the service's container last stopped (epoch seconds, the engine's record)."""
        result = run(["podman", "inspect", "--format", "{{.State.FinishedAt.Unix}}."
                      "{{printf \"%09d\" .State.FinishedAt.Nanosecond}}",
                      self.container(service)])  # fmt: skip
        return float(result.stdout.strip())

    def operator(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """`haplan ARGS` from this machine, as the operator, through the published port."""
        env = {
            **os.environ,
            "NATS_URL": f"nats://127.0.0.1:{self.nats_port}",
            "HAPLAN_NATS_USER": "operator",
            "HAPLAN_NATS_PASSWORD": self.env["HAPLAN_PW_OPERATOR"],
            "HAPLAN_STREAM_REPLICAS": "3",
        }
        if self.ca is not None:
            env["HAPLAN_NATS_TLS_CA"] = str(self.ca)
        return run([sys.executable, "-m", "services.cli.main", *args], env=env,
                   timeout=timeout, check=False)  # fmt: skip

    def status(self) -> dict[str, Any] | None:
        result = self.operator("status", "--json")
        if result.returncode != 0:
            return None
        answer: dict[str, Any] = json.loads(result.stdout)
        return answer

    def events(self) -> list[dict[str, Any]]:
        result = self.operator("events", "--json")
        assert result.returncode == 0, result.stderr
        return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]

    def logs(self) -> str:
        out = []
        extra = ("certs",) if self.ca is not None else ()
        for service in (*extra, "keys", "pool-create", *SERVICES):
            result = run(["podman", "logs", "--tail", "60", self.container(service)],
                         check=False)  # fmt: skip
            out.append(f"----- {service} -----\n{result.stdout}{result.stderr}")
        return "\n".join(out)

    def remove(self) -> list[str]:
        """Everything the stack made, gone; what could not be removed, named."""
        if self.started:
            self.compose("down", "-v", "-t", "5", check=False)
        label = f"label=io.podman.compose.project={self.project}"
        for kind in ("container", "volume", "network"):
            listed = run(["podman", kind, "ls", "-q", "--filter", label] + (
                ["-a"] if kind == "container" else []), check=False)  # fmt: skip
            names = listed.stdout.split()
            if names:
                run(["podman", kind, "rm", "-f", *names], check=False)
        left = []
        for kind in ("container", "volume", "network"):
            listed = run(["podman", kind, "ls", "-q", "--filter", label] + (
                ["-a"] if kind == "container" else []), check=False)  # fmt: skip
            left += [f"{kind} {n}" for n in listed.stdout.split()]
        for image in self.extra_images:
            run(["podman", "rmi", image], check=False)
            if run(["podman", "image", "exists", image], check=False).returncode == 0:
                left.append(f"image {image}")
        return left


@contextlib.contextmanager
def built_image(timings: dict[str, float]) -> Iterator[tuple[str, str]]:
    """(image, base): the image built from this checkout as the README says; removed on the
    way out (its build cache stays, for the next run)."""
    image, base = f"localhost/haplan-e2e:{secrets.token_hex(4)}", base_image()
    untagged = _untagged()
    try:
        began = time.monotonic()
        run([str(ROOT / "deploy" / "wheelhouse.sh")], timeout=600)
        timings["wheelhouse"] = time.monotonic() - began
        began = time.monotonic()
        build = ["podman", "build", "--format", "docker", "-f", "deploy/Dockerfile",
                 "--build-arg", f"BASE={base}"]  # fmt: skip
        # The dependencies' stage under a name of its own: the build cache kept on purpose,
        # so that the next run installs no dependency again while they stay the same.
        run([*build, "--target", "deps", "-t", DEPS_CACHE, "."], timeout=900)
        run([*build, "-t", image, "."], timeout=900)
        timings["build"] = time.monotonic() - began
        yield image, base
    finally:
        run(["podman", "rmi", "-f", image], check=False)
        # The build's intermediate images (haplan's own layers) go too; one still needed by
        # a named image is refused by podman and stays.
        for left in _untagged() - untagged:
            run(["podman", "rmi", left], check=False)


def _untagged() -> set[str]:
    listed = run(["podman", "images", "-a", "-q", "--no-trunc", "--filter", "dangling=true"],
                 check=False)  # fmt: skip
    return set(listed.stdout.split())


@contextlib.contextmanager
def running_stack(image: str, base: str, *, tls: bool) -> Iterator[Stack]:
    """The stack started from the image (not yet waited on), over deploy/compose.tls.yml when
    `tls`; all of it removed on the way out, pass or fail."""
    tag = secrets.token_hex(4)
    env = {
        **os.environ,
        "HAPLAN_IMAGE": image,
        "HAPLAN_BASE": base,
        "HAPLAN_SUBNET": f"198.19.{240 + secrets.randbelow(15)}.0/24",
        "HAPLAN_NATS_PORT": str(free_port()),
    }
    if tls:
        env["HAPLAN_NATS_CONF"] = "haplan-tls.conf"
    # Passwords of the run's own, not the file's demo defaults: the README's way to set them.
    env.update({f"HAPLAN_PW_{role}": f"pw{secrets.token_hex(8)}" for role in PASSWORDS})
    files = ("docker-compose.yml", "deploy/compose.tls.yml") if tls else ("docker-compose.yml",)
    stack = Stack(f"haplan-e2e-{tag}", image, env, int(env["HAPLAN_NATS_PORT"]), files)
    passed = False
    try:
        began = time.monotonic()
        stack.started = True
        stack.compose("up", "-d")
        stack.timings["up"] = time.monotonic() - began
        if tls:
            stack.ca = stack.volume_path("tls") / "ca.pem"
        yield stack
        passed = True
    finally:
        left = stack.remove()
        if left:
            # Said either way; a failure of its own only when the run had not already failed.
            print(f"the stack left behind: {left}", file=sys.stderr)
            assert not passed, f"the stack left behind: {left}"
