"""nats-server inside a node's namespace: one server, or one node of a 3-node JetStream
cluster, listening on its node's address, its monitoring port on the namespace's loopback.

Killing one and starting it again keeps its JetStream directory, as a crashed and rebooted
server would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from services.common.lifetime import die_with_parent
from services.common.natsserver import locate_nats_server
from services.deploy.natsconf import conf_string
from tests.e2e.netns import Node

CLIENT_PORT = 4222
CLUSTER_PORT = 6222
MONITOR_PORT = 8222

# Run inside the node's namespace: print a monitoring page, or exit 1 if it does not answer.
_MONITOR = (
    "import sys, urllib.request\n"
    "try:\n"
    f"    url = 'http://127.0.0.1:{MONITOR_PORT}' + sys.argv[1]\n"
    "    page = urllib.request.urlopen(url, timeout=1)\n"
    "    sys.stdout.write(page.read().decode())\n"
    "except Exception:\n"
    "    sys.exit(1)\n"
)


class NatsNode:
    """`auth`: an `authorization` block (services.deploy.natsconf) and the environment that
    holds its passwords; None: no authentication."""

    def __init__(
        self,
        name: str,
        node: Node,
        data: Path,
        peers: Sequence[Node] = (),
        auth: tuple[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.name, self.node, self.data = name, node, data
        self.peers = list(peers)  # the other nodes of its cluster; none: a single server
        self.auth = auth
        self.proc: subprocess.Popen[bytes] | None = None
        data.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"nats://{self.node.address}:{CLIENT_PORT}"

    @property
    def log(self) -> Path:
        return self.data / "nats-server.log"

    def _config(self) -> Path:
        lines = [
            f"server_name: {conf_string(self.name)}",
            f'listen: "{self.node.address}:{CLIENT_PORT}"',
            f'http: "127.0.0.1:{MONITOR_PORT}"',
            # The data directory is the test's tmp_path: quoted, whatever its name holds.
            f"jetstream {{ store_dir: {conf_string(str(self.data / 'jetstream'))} }}",
        ]
        if self.peers:
            routes = ", ".join(f'"nats://{p.address}:{CLUSTER_PORT}"' for p in self.peers)
            lines.append(
                f'cluster {{ name: "haplan", listen: "{self.node.address}:{CLUSTER_PORT}", '
                f"routes: [{routes}] }}"
            )
        if self.auth is not None:
            (self.data / "auth.conf").write_text(self.auth[0])
            lines.append("include ./auth.conf")
        path = self.data / "nats.conf"
        path.write_text("\n".join(lines) + "\n")
        return path

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [*self.node.enter(), str(locate_nats_server()), "-c", str(self._config())],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env={**os.environ, **(self.auth[1] if self.auth else {})},
                start_new_session=True, preexec_fn=die_with_parent,
            )  # fmt: skip

    def violations(self) -> list[str]:
        """The permission violations this server logged (publish or subscription)."""
        if not self.log.exists():
            return []
        return [
            line for line in self.log.read_text(errors="replace").splitlines()
            if " Violation - " in line
        ]  # fmt: skip

    def monitor(self, path: str) -> str | None:
        """A page of the server's monitoring port, asked from inside its namespace."""
        probe = [*self.node.enter(), sys.executable, "-c", _MONITOR, path]
        done = subprocess.run(probe, capture_output=True, text=True, timeout=30)
        return done.stdout if done.returncode == 0 else None

    def healthy(self) -> bool:
        """/healthz answers 200: the server and its JetStream (in a cluster, the meta
        group's leader) are up."""
        return self.monitor("/healthz") is not None

    def users(self) -> list[str]:
        """The users of the clients connected to this server now (none if it does not
        answer)."""
        page = json.loads(self.monitor("/connz?auth=true&limit=1024") or "{}")
        return sorted(str(c.get("authorized_user")) for c in page.get("connections") or [])

    def stream_leader(self, stream: str = "HA_EVENTS") -> str | None:
        """The server name that leads `stream`'s replicas, as this server sees it."""
        page = self.monitor("/jsz?accounts=true&streams=true")
        for account in json.loads(page or "{}").get("account_details", []):
            for detail in account.get("stream_detail", []):
                if detail.get("name") == stream:
                    leader = detail.get("cluster", {}).get("leader")
                    return str(leader) if leader else None
        return None

    def wait_healthy(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.healthy():
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"nats-server {self.name} exited: {self._tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"nats-server {self.name} not healthy: {self._tail()}")
            time.sleep(0.1)

    def freeze(self, frozen: bool = True) -> None:
        """Stop (SIGSTOP) or continue (SIGCONT) the server: it accepts, reads and answers
        nothing, yet its sockets stay open (the kernel still acknowledges what is sent).
        nsenter execs the server, so the process started is the server itself."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGSTOP if frozen else signal.SIGCONT)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def _tail(self) -> str:
        lines = self.log.read_text(errors="replace").strip().splitlines()
        return " | ".join(lines[-3:])
