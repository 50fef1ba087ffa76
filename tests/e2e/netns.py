"""Network namespaces for real-fault tests: one per node (a host, a NATS server, the
control plane), each linked by a veth to a bridge that lives in a namespace of its own.

Addresses are 198.18.0.0/15 only (RFC 2544's benchmarking range), and they exist only
inside namespaces this module created, so no test can send a packet anywhere else. Every
name starts with a per-run prefix, and `Fabric.remove()` deletes every namespace it made
(deleting a namespace deletes its veth ends and the bridge with it).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import subprocess
from dataclasses import dataclass, field

SUBNET = ipaddress.ip_network("198.18.0.0/24")
NS_DIR = "/run/netns"
IFACE = "eth0"  # every node's end of its veth
BRIDGE = "br0"


class NetnsError(RuntimeError):
    """A namespace could not be made or changed; the message has ip's own words."""


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)}: {done.stderr.strip()}")


def available() -> str | None:
    """None when this process can build namespaces and mount bindfs; else why not."""
    if os.geteuid() != 0:
        return (
            "the real-fault tests need root for network namespaces and FUSE (bindfs) mounts: "
            "run them as root, as CI does (sudo .venv/bin/pytest tests/e2e)"
        )
    for tool in ("ip", "nsenter", "bindfs", "umount"):
        if subprocess.run(["which", tool], capture_output=True).returncode != 0:
            hint = " (apt-get install -y bindfs)" if tool == "bindfs" else ""
            return f"{tool} is not installed{hint}"
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse is missing: bindfs cannot mount"
    return None


@dataclass(frozen=True)
class Node:
    """A namespace with one address on the lab's bridge."""

    name: str  # the namespace's name
    address: str

    @property
    def path(self) -> str:
        return f"{NS_DIR}/{self.name}"

    def enter(self) -> list[str]:
        """The argv prefix that runs a command in this node's network namespace only (its
        mounts stay the machine's, so a host sees its own bindfs mount of the store)."""
        return ["nsenter", f"--net={self.path}", "--"]

    def link(self, up: bool) -> None:
        """Plug (up) or pull (down) this node's network cable."""
        _ip("-n", self.name, "link", "set", IFACE, "up" if up else "down")

    def blackhole(self, address: str, on: bool) -> None:
        """Drop (on) or stop dropping every packet this node sends to `address`: a cut
        between the two that leaves both their other links up. The route lives in this
        node's namespace and goes with it."""
        _ip("-n", self.name, "route", "add" if on else "del", "blackhole", f"{address}/32")

    def pids(self) -> list[int]:
        """Every process whose network namespace is this node's."""
        done = subprocess.run(
            ["ip", "netns", "pids", self.name], capture_output=True, text=True, timeout=30
        )
        return [int(p) for p in done.stdout.split()]


@dataclass
class Fabric:
    """The lab's wiring: a bridge namespace and nodes attached to it."""

    prefix: str = field(default_factory=lambda: f"hp{secrets.token_hex(2)}")
    nodes: dict[str, Node] = field(default_factory=dict)
    _made: list[str] = field(default_factory=list)
    _hosts: list[ipaddress.IPv4Address] = field(
        default_factory=lambda: list(SUBNET.hosts())[1:]  # .1 is left for no one
    )

    @property
    def bridge_ns(self) -> str:
        return f"{self.prefix}-br"

    def _add_ns(self, name: str) -> None:
        _ip("netns", "add", name)
        self._made.append(name)
        _ip("-n", name, "link", "set", "lo", "up")

    def build(self) -> None:
        self._add_ns(self.bridge_ns)
        _ip("-n", self.bridge_ns, "link", "add", BRIDGE, "type", "bridge")
        _ip("-n", self.bridge_ns, "link", "set", BRIDGE, "up")

    def add(self, role: str) -> Node:
        """A new node named `role` (a short name: lab1, nats, ctl), wired to the bridge."""
        index = len(self.nodes)
        node = Node(f"{self.prefix}-{role}", str(self._hosts[index]))
        self._add_ns(node.name)
        port = f"p{index}"
        _ip("link", "add", IFACE, "netns", node.name, "type", "veth",
            "peer", "name", port, "netns", self.bridge_ns)  # fmt: skip
        _ip("-n", self.bridge_ns, "link", "set", port, "master", BRIDGE, "up")
        _ip("-n", node.name, "addr", "add", f"{node.address}/{SUBNET.prefixlen}", "dev", IFACE)
        _ip("-n", node.name, "link", "set", IFACE, "up")
        self.nodes[role] = node
        return node

    def remove(self) -> list[str]:
        """Delete every namespace made (processes still inside must be gone first); the
        problems, if any, for the caller to report."""
        problems = []
        for name in reversed(self._made):
            try:
                _ip("netns", "del", name)
            except NetnsError as exc:
                problems.append(str(exc))
        self._made.clear()
        return problems


def leftover_namespaces(prefix: str) -> list[str]:
    with contextlib.suppress(FileNotFoundError):
        return sorted(n for n in os.listdir(NS_DIR) if n.startswith(prefix))
    return []
